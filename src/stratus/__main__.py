from stratus.cli.main import main

main()
