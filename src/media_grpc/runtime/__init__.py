"""What runs a process: its threads and child processes, started, stopped and drained."""
