using RawDistill.Cli;

return CliApp.Run(args);
