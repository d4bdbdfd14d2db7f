from relaydesk.cli.main import main

main()
