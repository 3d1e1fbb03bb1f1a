"""PyAV helpers shared by the video stages (opening inputs safely, the ladder plan, HLS)."""
