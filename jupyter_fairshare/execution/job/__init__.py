"""What runs in the zygote or a job process: the fork server, the child's loop, tasks and display capture."""
