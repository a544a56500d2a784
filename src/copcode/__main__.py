from copcode.cli import main

main()
