from sfexit.cli import main

main()
