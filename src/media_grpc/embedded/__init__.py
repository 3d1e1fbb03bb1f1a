"""What the embedded default runs in-process when no server is configured."""
