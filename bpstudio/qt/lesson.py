"""What makes the studio teach: the lesson panel (text, a question to answer before running,
the answer, and the fixes to run next), the diagnosis banner that names what the rules of
analysis/diagnostics.py see in the run, and the failure banner when training overflowed."""

from __future__ import annotations

import html
import math
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from bpstudio.lessons import lessons
from bpstudio.qt import theme

LESSON_TITLES = {lesson.number: lesson.title for lesson in lessons()}


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


class LessonPanel(QScrollArea):
    """The open project's story. For a lesson: its text, "predict, then run", the answer on
    request, and one button per fix, each starting a second run to compare with the first."""

    fix_requested = Signal(int)  # index into the lesson's fixes

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("lesson-panel")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        self.layout_ = QVBoxLayout(body)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.question.setStyleSheet(
            f"background: {theme.TINT_BLUE}; border-left: 4px solid {theme.TRAIN}; padding: 6px;"
        )
        self.answer_button = QPushButton("Show the answer")
        self.answer_button.setToolTip("Run first and see for yourself; then check here.")
        self.answer_button.clicked.connect(self.show_answer)
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        self.answer.setStyleSheet(
            f"background: {theme.TINT_GREEN}; border-left: 4px solid {theme.GREEN}; padding: 6px;"
        )
        self.fixes_label = QLabel("<b>Now run it again with one change</b>")
        self.fix_box = QVBoxLayout()
        for widget in (self.title, self.text, self.question, self.answer_button, self.answer):
            self.layout_.addWidget(widget)
        self.layout_.addSpacing(6)
        self.layout_.addWidget(self.fixes_label)
        self.layout_.addLayout(self.fix_box)
        self.layout_.addStretch(1)
        self.setWidget(body)
        self.fix_buttons: list[QPushButton] = []

    def show_project(self, project):
        lesson = project.lesson or {}
        self.title.setText(_escape(project.name))
        self.text.setText(_escape(project.description or "No description."))
        question = lesson.get("question")
        self.question.setText(f"<b>Predict, then run.</b> {_escape(question or '')}")
        self.question.setVisible(bool(question))
        self.answer.setText(_escape(lesson.get("answer", "")))
        self.answer.hide()
        self.answer_button.setVisible(bool(lesson.get("answer")))
        for button in self.fix_buttons:
            self.fix_box.removeWidget(button)
            button.deleteLater()
        self.fix_buttons = []
        for i, fix in enumerate(lesson.get("fixes", [])):
            button = QPushButton(f"Run again: {fix['name']}")
            button.setToolTip(fix.get("explain", ""))
            button.setStyleSheet("text-align: left; padding: 4px 8px;")
            button.clicked.connect(lambda _=False, index=i: self.fix_requested.emit(index))
            self.fix_box.addWidget(button)
            self.fix_buttons.append(button)
        self.fixes_label.setVisible(bool(self.fix_buttons))

    def show_answer(self):
        self.answer.show()
        self.answer_button.hide()


#: Seconds between two texts of the same finding in the diagnosis banner.
TEXT_EVERY = 1.0


class Banner(QFrame):
    """A tinted strip across the window with a text and buttons at its right."""

    def __init__(self, name: str, tint: str, border: str, buttons=(), parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setStyleSheet(
            f"#{name} {{ background: {tint}; border: 1px solid {border}; border-radius: 4px; }}"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.text, 1)
        for button in buttons:
            row.addWidget(button)
        #: Turns the layers' Keras names in a message into their names on screen.
        self.rename = lambda text: text
        self.hide()


class DiagnosisBanner(Banner):
    """An amber banner with the most urgent finding: what was seen, with its numbers, what to
    try, and a link to the lesson that shows it. "Hide" keeps that kind of finding hidden
    until the next run."""

    lesson_requested = Signal(int)

    def __init__(self, parent=None):
        self.hide_button = QPushButton("Hide")
        self.hide_button.setToolTip("Hide this finding until the next run")
        super().__init__("diagnosis", theme.TINT_AMBER, theme.AMBER, [self.hide_button], parent)
        self.text.linkActivated.connect(lambda link: self.lesson_requested.emit(int(link)))
        self.hide_button.clicked.connect(self._dismiss)
        self.finding = None
        self._shown_at = -math.inf
        self.dismissed: set[str] = set()

    def reset(self):
        """A new run: every kind of finding may be shown again."""
        self.dismissed.clear()
        self.finding = None
        self.hide()

    def show_findings(self, findings, final=True):
        """Show the most urgent finding. While training runs (`final` false) the text
        changes at most every TEXT_EVERY seconds while what it says still holds: a
        finding's numbers move on every snapshot, two findings near their thresholds took
        turns first several times a second (an unreadable banner), and a new text relays
        the window out (a 25-30 ms turn of the GUI when its height changes, measured). A
        finding that no longer holds is replaced at once."""
        # Non-finite values have the red banner with its rollback buttons.
        shown = [f for f in findings if f.kind != "non_finite" and f.kind not in self.dismissed]
        if not shown:
            self.finding = None
            self.hide()
            return
        finding, old = shown[0], self.finding
        link = ""
        if finding.lesson in LESSON_TITLES:
            link = (
                f' <a href="{finding.lesson}">Lesson {finding.lesson}: '
                f"{_escape(LESSON_TITLES[finding.lesson])}</a>"
            )
        more = f" (and {len(shown) - 1} more)" if len(shown) > 1 else ""
        text = (
            f"<b>{_escape(finding.title)}{more}.</b> {_escape(self.rename(finding.message))} "
            f"<i>Try:</i> {_escape(self.rename(finding.advice))}{link}"
        )
        now = time.monotonic()
        holds = old is not None and any((f.kind, f.layer) == (old.kind, old.layer) for f in shown)
        if text != self.text.text() and (final or not holds or now - self._shown_at >= TEXT_EVERY):
            self.finding = finding
            self._shown_at = now
            self.text.setText(text)
        self.show()

    def _dismiss(self):
        if self.finding is not None:
            self.dismissed.add(self.finding.kind)
        self.finding = None
        self.hide()


class FailureBanner(Banner):
    """A red banner when training stopped on a non-finite value: where it appeared (step and
    layer), what to try, and buttons to roll back (with the same or a ten times lower
    learning rate)."""

    rollback_requested = Signal(bool)  # True: with the learning rate ÷10

    def __init__(self, parent=None):
        self.rollback_button = QPushButton("Roll back")
        self.rollback_button.setToolTip(
            "Go back to the last weights saved before training broke down."
        )
        self.rollback_lower_button = QPushButton("Roll back, learning rate ÷10")
        self.rollback_lower_button.setToolTip(
            "Go back and continue with a learning rate ten times smaller."
        )
        super().__init__(
            "banner",
            theme.TINT_RED,
            theme.RED,
            [self.rollback_button, self.rollback_lower_button],
            parent,
        )
        self.rollback_button.clicked.connect(lambda: self._roll_back(False))
        self.rollback_lower_button.clicked.connect(lambda: self._roll_back(True))

    def show_failure(self, failure: dict | None):
        if failure is None:
            if self.isVisible():
                self.hide()
            return
        self.text.setText(
            f"<b>Training stopped at step {failure['step']}</b>: "
            f"{_escape(self.rename(failure['what']))} (first seen in "
            f"<b>{_escape(self.rename(str(failure['layer'])))}</b>). The weights or gradients "
            f"overflowed: try a lower learning rate, gradient clipping or batch normalization."
        )
        self.rollback_button.setText(f"Roll back to step {failure['rollback_step']}")
        self.show()

    def _roll_back(self, lower_rate: bool):
        self.hide()
        self.rollback_requested.emit(lower_rate)
