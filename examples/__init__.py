"""Example trainers of torch-modeseek (run them as scripts: ``python examples/<task>.py --help``)."""
