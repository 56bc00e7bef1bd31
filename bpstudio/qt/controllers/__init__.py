"""The window's controllers: what happens when the user does something. Each is handed the
document and the collaborators it needs, never the window."""
