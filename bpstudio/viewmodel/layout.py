"""Window defaults that the command line shares with the window (no Qt needed to read them)."""

#: The window's size, in pixels, when nothing is remembered (clamped to the screen).
WINDOW_SIZE = (1600, 1000)
#: What `bpstudio screenshot` pictures unless told: a classroom projector.
SCREENSHOT_SIZE = (1280, 720)
#: Nothing the user does makes the window need more than this.
MINIMUM_SIZE = (1024, 640)
#: The sizes a teacher meets: a projector, a laptop, a desktop.
SIZES = ((1280, 720), (1366, 768), (1920, 1080))


def size_class(width: int, height: int) -> str:
    """The kind of screen a window of this size is on, for remembering an arrangement of the
    panels per kind: "small" (projectors, laptops), "medium" or "large"."""
    if width < 1500 or height < 850:
        return "small"
    return "medium" if width < 1800 else "large"
