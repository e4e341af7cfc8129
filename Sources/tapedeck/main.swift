import TapedeckCommands
Tapedeck.main()
