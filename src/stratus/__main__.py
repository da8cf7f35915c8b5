from stratus.cli import run

run()
