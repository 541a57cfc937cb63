"""Public checks, one module per notebook (``nb01`` holds exercises 1.x)."""
