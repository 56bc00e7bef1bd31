"""What the window draws from, without Qt: immutable snapshots of a run made in the training
thread, and the open document with its change events."""
