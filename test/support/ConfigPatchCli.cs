// Test harness: runs src/scripts/iis/ConfigPatch.cs (the code configure.ps1 compiles with Add-Type on the server)
// on real files. Usage:
//   appsettings <file> <patch-json-file> <temporary-file>
//   webconfig <file> <true|false> <temporary-file> [<stdoutLogFile> [<environment-json-file> [<previous-names-json-file>]]]
//   (an empty <stdoutLogFile> leaves the attribute alone)
// Prints "changed" or "unchanged"; on an error prints "<ExceptionType>: <message>" on stderr and exits 1.
using System;
using System.IO;

public static class ConfigPatchCli
{
    public static int Main(string[] args)
    {
        try
        {
            if (args[0] == "appsettings")
            {
                Console.WriteLine(CreatioIdentityService.ConfigPatch.PatchAppSettingsFile(args[1], File.ReadAllText(args[2]), args[3]));
            }
            else
            {
                string environment = args.Length > 5 ? File.ReadAllText(args[5]) : null;
                string previous = args.Length > 6 ? File.ReadAllText(args[6]) : null;
                Console.WriteLine(CreatioIdentityService.ConfigPatch.PatchWebConfigFile(args[1], args[2] == "true", args.Length > 4 && args[4] != "" ? args[4] : null, environment, previous, args[3]));
            }
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e.GetType().Name + ": " + e.Message);
            return 1;
        }
    }
}
