"""Window defaults that the command line shares with the window (no Qt needed to read them)."""

#: The window's size, in pixels, when nothing is remembered, and of `bpstudio screenshot`.
WINDOW_SIZE = (1600, 1000)
