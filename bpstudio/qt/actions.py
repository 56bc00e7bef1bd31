"""The window's actions, declared once: ACTIONS says each one's text, shortcuts, tip, menu,
whether it sits in the toolbar, its icon, the classroom lock that disables it and what it
calls ("controller.method", with an argument for families such as the export targets). The
menus, the toolbar and classroom mode are built from this table; LOCKS names what a teacher
can lock (the project schema's enum follows it; a test checks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QStyle, QWidget

from bpstudio.export import TARGETS
from bpstudio.lessons import lessons
from bpstudio.qt.layout import PANELS

SP = QStyle.StandardPixmap
Keys = QKeySequence.StandardKey

#: What classroom mode can lock, with the words the teacher reads.
LOCKS = {
    "dataset": "Changing the data",
    "settings": "Changing the training settings",
    "network": "Editing the network",
    "reset": "Reset",
    "open": "Opening other projects and lessons",
}


@dataclass(frozen=True)
class Action:
    id: str
    text: str
    slot: str  # "controller.method" the window resolves; "" for a submenu
    menu: str  # "File", or "File/Export" for a submenu of it
    keys: tuple = ()  # key sequences (strings) or QKeySequence.StandardKey values
    tip: str = ""
    toolbar: bool = False
    icon: QStyle.StandardPixmap | None = None
    lock: str | None = None  # a key of LOCKS
    arg: object = None  # passed to the slot, for families of actions
    canvas: bool = False  # the shortcut works only while the network has the focus
    separator: bool = False  # a line before it in its menu
    submenu: bool = False  # a menu its controller fills (Open Recent)


ACTIONS = (
    Action("new", "&New", "files.new_project", "File", (Keys.New,),
           "A new project with a small network on the circle data", lock="open"),
    Action("open", "&Open…", "files.open_dialog", "File", (Keys.Open,), "Open a project file",
           lock="open"),
    Action("recent", "Open &Recent", "", "File", lock="open", submenu=True),
    Action("open_playground", "Open Playground link…", "files.open_playground_dialog", "File",
           ("Ctrl+Shift+O",), "Open a TensorFlow Playground link as a project: its data, "
           "network and settings", lock="open"),
    Action("copy_playground", "Copy as Playground link", "files.copy_playground_link", "File",
           ("Ctrl+Shift+C",), "Put a TensorFlow Playground link of this setup on the "
           "clipboard (says what Playground cannot show)"),
    Action("save", "&Save", "files.save", "File", (Keys.Save,),
           "Save the project with its weights and runs", separator=True),
    Action("save_as", "Save &As…", "files.save_as", "File", (Keys.SaveAs,),
           "Save the project under a new name"),
    Action("import_csv", "Import CSV data…", "edits.import_csv", "File", (),
           "Train on your own data from a CSV file", lock="dataset", separator=True),
    Action("export_window", "Window as PNG…", "exports.export_window_dialog", "File/Export", (),
           "Save a picture of the whole window"),
    Action("export_data", "Data as CSV…", "exports.export_data_dialog", "File/Export", (),
           "Save the training and test examples with their labels as a CSV file"),
    *(
        Action(f"export_panel_{spec.name}", f"{spec.title} panel…",
               "exports.export_panel_dialog", "File/Export", (),
               f"Save the {spec.title.lower()} panel as PNG, SVG or CSV", arg=spec.name,
               separator=i == 0)
        for i, spec in enumerate(s for s in PANELS if s.exports)
    ),
    *(
        Action(f"export_network_{to}", f"Network as {target.LABEL}…",
               "exports.export_network_dialog", "File/Export", (), target.DESCRIPTION, arg=to,
               separator=i == 0)
        for i, (to, target) in enumerate(TARGETS.items())
    ),
    Action("quit", "&Quit", "window.close", "File", (Keys.Quit,), "Close Backprop Studio",
           separator=True),
    Action("undo", "&Undo", "edits.undo_stack.undo", "Edit", (Keys.Undo,),
           "Undo the last change to the network"),
    Action("redo", "&Redo", "edits.undo_stack.redo", "Edit", ("Ctrl+Shift+Z", "Ctrl+Y"),
           "Redo the change undone last"),
    Action("delete_layer", "Delete layer", "builder.delete_selected", "Edit", ("Delete",),
           "Delete the selected layer", lock="network", canvas=True, separator=True),
    Action("more_units", "Add a unit", "builder.resize_selected", "Edit", ("+", "="),
           "One unit more", lock="network", arg=1, canvas=True),
    Action("fewer_units", "Remove a unit", "builder.resize_selected", "Edit", ("-",),
           "One unit fewer", lock="network", arg=-1, canvas=True),
    Action("play", "Play", "training.toggle_play", "Training", ("Space", "F5"),
           "Start or pause training", toolbar=True, icon=SP.SP_MediaPlay),
    Action("step", "Step", "training.step_batch", "Training", ("F6", "Ctrl+Right"),
           "Train on one mini-batch", toolbar=True, icon=SP.SP_MediaSeekForward),
    Action("epoch", "Step epoch", "training.step_epoch", "Training", ("F7", "Ctrl+Shift+Right"),
           "Train to the end of the epoch", toolbar=True, icon=SP.SP_MediaSkipForward),
    Action("reset", "Reset", "training.reset", "Training", ("Ctrl+R",),
           "Draw the initial weights again and start a new run", toolbar=True,
           icon=SP.SP_BrowserReload, lock="reset"),
    Action("reset_new", "Reset with new weights", "training.reset_new_weights", "Training",
           ("Ctrl+Shift+R",), "Draw new random initial weights (a new seed) and start a new run",
           lock="reset"),
    Action("inspector", "Backprop inspector…", "window.open_inspector", "Training", ("Ctrl+I",),
           "Follow one example through one backpropagation pass, step by step",
           separator=True),
    *(
        Action(f"lesson_{lesson.number}", f"{lesson.number}. {lesson.title}",
               "files.open_path", "Lessons", (), f"Open lesson {lesson.number}",
               lock="open", arg=lesson.path)
        for lesson in lessons()
    ),
    Action("classroom", "Classroom mode…", "classroom.dialog", "Lessons", (),
           "Hide panels and lock controls for a class; saved with the project", separator=True),
    Action("zoom_in", "Zoom in", "view.zoom_in", "View", ("Ctrl+=", "Ctrl++"),
           "Larger text, plots and network, for the back of the room", separator=True),
    Action("zoom_out", "Zoom out", "view.zoom_out", "View", ("Ctrl+-",),
           "Smaller text, plots and network"),
    Action("zoom_reset", "Actual size", "view.zoom_reset", "View", ("Ctrl+0",),
           "Text, plots and network at their normal size"),
    Action("presentation", "Presentation mode", "view.toggle_presentation", "View", ("F11",),
           "Full screen with larger text: only the lesson, the network, the output and the "
           "panel the lesson is about (F11 or Esc to leave)"),
    Action("reset_layout", "Reset layout", "window.reset_layout", "View", (),
           "Put every panel back where it was at first", separator=True),
    Action("shortcuts", "Keyboard shortcuts", "window.show_shortcuts", "Help", ("F1",),
           "Every keyboard shortcut of the studio"),
    Action("tutorials", "Tutorials", "window.show_tutorials", "Help", (),
           "The step-by-step tutorials, shipped with the app"),
    Action("about", "About Backprop Studio", "window.about", "Help", separator=True),
)  # fmt: skip
MENUS = ("File", "Edit", "Training", "Lessons", "View", "Help")


def make_actions(
    parent: QWidget,
    resolve: Callable[[str], Callable],
    canvas: QWidget,
    allows: Callable[[str | None], bool] = lambda lock: True,
) -> dict[str, QAction]:
    """A QAction for every entry of ACTIONS, by id, connected to `resolve(slot)`, run only if
    `allows(lock)` (classroom mode says why when not). Actions marked `canvas` are added to
    `canvas` and work only while it has the focus, so that "+" and "-" still type into the
    number fields elsewhere."""
    made = {}
    for spec in ACTIONS:
        if spec.submenu:
            continue  # make_menus makes it with its menu
        action = QAction(spec.text, parent)
        action.setObjectName(spec.id)
        if spec.keys:
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
        if spec.icon is not None:
            action.setIcon(parent.style().standardIcon(spec.icon))
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        tip = spec.tip or spec.text.replace("&", "")
        action.setToolTip(f"{tip} ({keys})" if keys else tip)
        action.setStatusTip(spec.tip)
        if spec.slot:
            slot = resolve(spec.slot)
            args = () if spec.arg is None else (spec.arg,)
            action.triggered.connect(
                lambda _=False, f=slot, a=args, lock=spec.lock: allows(lock) and f(*a)
            )
        if spec.canvas:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            canvas.addAction(action)
        made[spec.id] = action
    return made


def make_menus(bar: QMenuBar, actions: dict[str, QAction]) -> dict[str, QMenu]:
    """The menus of MENUS with their actions in table order; returns every menu and submenu
    by path ("File", "File/Export", "File/recent")."""
    menus: dict[str, QMenu] = {name: bar.addMenu(f"&{name}") for name in MENUS}
    for spec in ACTIONS:
        if spec.menu not in menus:
            top, sub = spec.menu.split("/")
            menus[spec.menu] = menus[top].addMenu(f"&{sub}")
        menu = menus[spec.menu]
        if spec.separator:
            menu.addSeparator()
        if spec.submenu:
            submenu = menu.addMenu(spec.text)
            submenu.menuAction().setObjectName(spec.id)
            menus[f"{spec.menu}/{spec.id}"] = submenu
            actions[spec.id] = submenu.menuAction()
        else:
            menu.addAction(actions[spec.id])
    return menus


def resolver(objects: dict[str, QObject | object]) -> Callable[[str], Callable]:
    """slot "a.b.c" -> a function calling objects["a"].b.c, looked up when it is called (so
    that actions can be made before every object they call exists)."""

    def resolve(slot: str):
        head, *rest = slot.split(".")

        def call(*args):
            target = objects[head]
            for name in rest:
                target = getattr(target, name)
            return target(*args)

        return call

    return resolve
