"""The open document and its events."""

from bpstudio.lessons.catalog import first_network
from bpstudio.viewmodel.document import Document


def recorder(document):
    seen = []
    document.opened.connect(lambda project: seen.append(("opened", project.name)))
    document.modified_changed.connect(lambda value: seen.append(("modified", value)))
    document.path_changed.connect(lambda path: seen.append(("path", path.name)))
    document.classroom_changed.connect(lambda c: seen.append(("classroom", c)))
    return seen


def test_opening_editing_and_saving_tell_the_subscribers(tmp_path):
    document = Document()
    seen = recorder(document)
    document.open(first_network())
    assert seen == [("opened", "Lesson 1: Your first network"), ("modified", False)]
    assert document.title == "Lesson 1: Your first network" and document.path is None
    seen.clear()
    document.modified = True
    document.modified = True  # no second event: nothing changed
    assert seen == [("modified", True)] and document.edits == 2
    document.saved_to(tmp_path / "mine.bpstudio")
    assert seen[1:] == [("modified", False), ("path", "mine.bpstudio")]
    assert document.title == "mine.bpstudio"


def test_classroom_mode_is_kept_in_the_project_and_named_in_the_title():
    document = Document()
    document.open(first_network())
    document.run_name = "as given"
    seen = recorder(document)
    classroom = {"hidden": ["runs"], "locked": ["open"]}
    document.set_classroom(classroom)
    assert document.project.classroom == classroom and document.modified
    assert ("classroom", classroom) in seen
    assert document.title.endswith("(classroom mode)")
    document.open(first_network())
    assert document.run_name is None and not document.modified
