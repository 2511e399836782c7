from modeltrail.cli import main

main()
