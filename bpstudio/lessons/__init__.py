"""The built-in lessons: each a project with its text, a question to predict, fixes to compare
and the measure to compare them on. `python -m bpstudio.lessons` writes their files."""

from bpstudio.lessons.catalog import Lesson, apply_fix, lessons, with_fix

__all__ = ["Lesson", "apply_fix", "lessons", "with_fix"]
