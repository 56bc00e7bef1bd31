"""`python -m bpstudio.lessons`: write the lesson files in resources/lessons again."""

from bpstudio.lessons.catalog import write_lessons

write_lessons()
