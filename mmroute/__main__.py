from mmroute.cli.main import main

main()
