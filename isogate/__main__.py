from isogate.cli import main

main()
