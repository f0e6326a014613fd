# Step "scripts" of the IIS target: writes the package's step scripts (and the configuration patcher) into a folder
# on the host, so that the other steps can run them by name. Files are named after their content hash: a name always
# holds the same content, so an existing file is left alone (or restored when it was changed there), and older files
# stay until the step is deleted, so the delete commands kept in the state of other steps always find theirs. The
# folder is readable and writable by Administrators and SYSTEM only (inheritance removed) and owned by Administrators:
# the other steps run these files as an administrator (and their runner checks each file's SHA-256 against its name).
# A folder someone else created first is taken over only when it is no junction or symbolic link, and a file is written
# anew (deleted first), never through a link or hard link someone left under its name.
# Output: one line of JSON, ASCII only (a path beyond ASCII written as \uXXXX: Windows PowerShell 5.1 writes standard
# output in the console's OEM code page).
# This script travels inline as -EncodedCommand, minified, within cmd.exe's line limit: keep its code short.
# Input, plain lines (so that a preview shows a changed script line by line), read strictly:
#   folder C:\...\IdentityService.deploy
#   file <name>-<first 12 hex digits of the SHA-256 of its content>.<ps1|cs> <line count>
#   <exactly that many lines: the content, each line ending in a line break>
#   file ...
# Anything else is refused before a file is written.
$ErrorActionPreference = 'Stop'
# In ConstrainedLanguage mode (a lockdown policy) this first statement already fails: "Cannot create type. Only core
# types are supported in this language mode." (the runner of the other steps names the mode itself).
[Console]::OutputEncoding = New-Object Text.UTF8Encoding $false
$step = 'scripts'
try {
    $lines = (New-Object IO.StreamReader([Console]::OpenStandardInput(), (New-Object Text.UTF8Encoding $false))).ReadToEnd().Split([char]10)
} catch {
    [Console]::Error.WriteLine("${step}: could not read the file list on standard input")
    exit 1
}
try {
    # Parse and check everything first: a malformed input writes nothing.
    $end = $lines.Count - 1
    if ($end -lt 1 -or $lines[$end] -ne '' -or $lines[0] -cnotmatch '^folder (\S.*)$') {
        throw "the input does not start with a 'folder <path>' line or does not end in a line break"
    }
    $folder = $Matches[1]
    $sha256 = [Security.Cryptography.SHA256]::Create()
    $files = @()
    $i = 1
    while ($i -lt $end) {
        if ($lines[$i] -cnotmatch '^file ([A-Za-z0-9][A-Za-z0-9.-]*-([0-9a-f]{12})\.(ps1|cs)) ([1-9][0-9]{0,5})$') {
            throw "line $($i + 1) is not a 'file <name>-<hash>.<ps1|cs> <line count>' line"
        }
        $name = $Matches[1]
        $hash = $Matches[2]
        $count = [int]$Matches[4]
        if ($i + $count -ge $end) {
            throw "$name announces $count lines, but only $($end - $i - 1) follow"
        }
        $content = [string]::Join([string][char]10, $lines, $i + 1, $count) + [char]10
        $digest = [BitConverter]::ToString($sha256.ComputeHash([Text.Encoding]::UTF8.GetBytes($content))).Replace('-', '').ToLower()
        if (-not $digest.StartsWith($hash)) {
            throw "the content of $name does not match the hash in its name"
        }
        $files += @{ name = $name; content = $content }
        $i += $count + 1
    }

    # The parent as written (Split-Path would rewrite the separators on some platforms).
    $parent = $folder -replace '[\\/]+[^\\/]*$', ''
    if (-not (Test-Path -LiteralPath $parent -PathType Container)) {
        throw "the folder $parent does not exist on this host: fix iis.creatioPath (or iis.installPath)"
    }
    $directory = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($folder)
    $ErrorActionPreference = 'Continue'
    $acl = ''
    $LASTEXITCODE = 0
    if ([IO.Directory]::Exists($directory)) {
        if ([IO.File]::GetAttributes($directory) -match 'ReparsePoint') {
            throw "$folder is a junction or symbolic link: remove it"
        }
        # Someone else may have created it: Administrators become the owner of it and of everything in it.
        $acl = & icacls.exe $folder /setowner '*S-1-5-32-544' /T 2>&1
    } else {
        # What an administrator creates belongs to Administrators already.
        [void][IO.Directory]::CreateDirectory($directory)
    }
    if ($LASTEXITCODE -eq 0) {
        $acl = & icacls.exe $folder /inheritance:r /grant:r '*S-1-5-32-544:(OI)(CI)F' /grant:r '*S-1-5-18:(OI)(CI)F' 2>&1
    }
    $ErrorActionPreference = 'Stop'
    if ($LASTEXITCODE -ne 0) {
        throw "could not give $folder to Administrators only: $acl"
    }
    # Windows PowerShell 5.1 reads a script without a byte order mark in the ANSI code page: write one.
    $encoding = New-Object Text.UTF8Encoding $true
    $written = @()
    foreach ($file in $files) {
        $path = [IO.Path]::Combine($directory, $file.name)
        if (-not [IO.File]::Exists($path) -or [IO.File]::ReadAllText($path) -cne $file.content) {
            [IO.File]::Delete($path)
            [IO.File]::WriteAllText($path, $file.content, $encoding)
            $written += $file.name
        }
    }
    $json = ConvertTo-Json ([ordered]@{ directory = $folder; written = @($written) }) -Compress
    [regex]::Replace($json, '[^\x00-\x7f]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
