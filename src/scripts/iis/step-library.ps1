# Functions every step script of the IIS target uses. The runner checks this file's SHA-256 against its name, as it
# checks the step's, and dot-sources it before it runs the step, so a step calls these by name.
# Written for Windows PowerShell 5.1 and PowerShell 7 alike, using only what both do the same way:
# - standard input is read as UTF-8 and parsed by .NET's JSON reader, not by ConvertFrom-Json (with Group Policy's
#   module logging on, a cmdlet's parameters land in the event log, event 4103, and the input holds secrets);
# - standard output is ASCII only: Windows PowerShell 5.1 writes it in the console's OEM code page whatever
#   [Console]::OutputEncoding says, and its ConvertTo-Json leaves non-ASCII text unescaped;
# - deletes never follow a junction or symbolic link (Windows PowerShell 5.1's Remove-Item -Recurse empties the
#   folder a link points to).

function Get-HostPath([string] $path) {
    return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path)
}

# One element of .NET's JSON-to-XML mapping (System.Runtime.Serialization.Json) as PowerShell values: objects become
# hashtables, arrays arrays, numbers [long] or [double], booleans [bool], null $null, strings [string].
function ConvertFrom-JsonElement([System.Xml.XmlElement] $element) {
    $type = $element.GetAttribute('type')
    if ($type -eq 'object') {
        $object = @{}
        foreach ($child in $element.ChildNodes) {
            if ($child -is [System.Xml.XmlElement]) {
                # A key that is not an XML name travels as <a:item xmlns:a="item" item="<key>">.
                $key = if ($child.NamespaceURI -eq 'item') { $child.GetAttribute('item') } else { $child.LocalName }
                $object[$key] = ConvertFrom-JsonElement $child
            }
        }
        return $object
    }
    if ($type -eq 'array') {
        $items = New-Object System.Collections.ArrayList
        foreach ($child in $element.ChildNodes) {
            if ($child -is [System.Xml.XmlElement]) {
                [void]$items.Add((ConvertFrom-JsonElement $child))
            }
        }
        return , $items.ToArray()
    }
    $text = $element.InnerText
    if ($type -eq 'number') {
        $whole = 0L
        if ([long]::TryParse($text, [System.Globalization.NumberStyles]::AllowLeadingSign, [System.Globalization.CultureInfo]::InvariantCulture, [ref]$whole)) {
            return $whole
        }
        return [double]::Parse($text, [System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($type -eq 'boolean') {
        return $text -eq 'true'
    }
    if ($type -eq 'null') {
        return $null
    }
    return $text
}

# Parses JSON text (a string) into PowerShell values; throws on anything that is not JSON.
function ConvertFrom-StepJson([string] $text) {
    Add-Type -AssemblyName System.Runtime.Serialization
    $bytes = [System.Text.Encoding]::UTF8.GetBytes($text)
    $reader = [System.Runtime.Serialization.Json.JsonReaderWriterFactory]::CreateJsonReader($bytes, [System.Xml.XmlDictionaryReaderQuotas]::Max)
    try {
        $document = New-Object System.Xml.XmlDocument
        # Whitespace is content here: a value of spaces only must not vanish.
        $document.PreserveWhitespace = $true
        $document.Load($reader)
    } finally {
        $reader.Close()
    }
    return ConvertFrom-JsonElement $document.DocumentElement
}

# The step's one JSON object on standard input (UTF-8); on anything else, "<step>: could not read ..." and exit 1.
function Read-StepInput([string] $step) {
    try {
        $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
        $value = ConvertFrom-StepJson $reader.ReadToEnd()
        if ($value -is [hashtable]) {
            return $value
        }
    } catch {
        # The input is not shown: it may hold secrets.
    }
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}

# JSON for a step's output, every character beyond ASCII written as \uXXXX (valid JSON: they occur only inside strings).
function ConvertTo-AsciiJson($value) {
    $json = ConvertTo-Json -Compress -Depth 5 -InputObject $value
    return [regex]::Replace($json, '[^\x00-\x7f]', { param($match) '\u{0:x4}' -f [int][char]$match.Value })
}

# Writes a step's result (an [ordered] dictionary, so the text is the same on every run) as one line of ASCII JSON.
function Write-StepResult($result) {
    [Console]::Out.WriteLine((ConvertTo-AsciiJson $result))
}

# Writes "<step>: <message>" on standard error, with every secret replaced by [redacted], and exits 1. Standard error
# keeps UTF-8: the runner set [Console]::OutputEncoding before the first write to it.
function Stop-Step([string] $step, [string] $message, $secrets) {
    foreach ($secret in @($secrets)) {
        if ($secret) {
            $message = $message.Replace([string]$secret, '[redacted]')
        }
    }
    [Console]::Error.WriteLine("${step}: $message")
    exit 1
}

# Whether a path is a junction or symbolic link (a reparse point), which the steps never follow.
function Test-Link([string] $path) {
    $full = Get-HostPath $path
    if (-not ([System.IO.File]::Exists($full) -or [System.IO.Directory]::Exists($full))) {
        return $false
    }
    return ([System.IO.File]::GetAttributes($full) -band [System.IO.FileAttributes]::ReparsePoint) -ne 0
}

# Removes a file or a folder tree. A junction or symbolic link is removed itself, never what it points to; read-only
# files are removed too.
function Remove-Tree([string] $path) {
    $full = Get-HostPath $path
    if (-not ([System.IO.File]::Exists($full) -or [System.IO.Directory]::Exists($full))) {
        return
    }
    $attributes = [System.IO.File]::GetAttributes($full)
    $isFolder = ($attributes -band [System.IO.FileAttributes]::Directory) -ne 0
    if (($attributes -band [System.IO.FileAttributes]::ReparsePoint) -ne 0) {
        if ($isFolder) {
            [System.IO.Directory]::Delete($full, $false)
        } else {
            [System.IO.File]::Delete($full)
        }
    } elseif ($isFolder) {
        foreach ($entry in [System.IO.Directory]::GetFileSystemEntries($full)) {
            Remove-Tree $entry
        }
        [System.IO.Directory]::Delete($full, $false)
    } else {
        [System.IO.File]::SetAttributes($full, [System.IO.FileAttributes]::Normal)
        [System.IO.File]::Delete($full)
    }
}

# The marker file the install step writes into a folder it fills: what makes a folder (or the site serving it) ours.
$InstallMarker = '.identity-service-archive'

# Whether a folder is one the install step filled: it holds the marker, and is not a link to somewhere else.
function Test-InstalledFolder([string] $path) {
    return (Test-Path -LiteralPath (Join-Path $path $InstallMarker)) -and -not (Test-Link $path)
}

# Whether an IIS site is this deployment's: it serves the install folder, or a folder the install step filled.
function Test-OwnSite($site, [string] $installPath) {
    $current = $site.Applications['/'].VirtualDirectories['/'].PhysicalPath
    return $current -eq $installPath -or (Test-InstalledFolder ([Environment]::ExpandEnvironmentVariables($current)))
}

# Waits while IIS reports a pool starting or stopping, and returns the state it settles in.
function Wait-PoolState($pool) {
    for ($wait = 0; $wait -lt 120; $wait++) {
        $state = [string]$pool.State
        if ($state -eq 'Started' -or $state -eq 'Stopped') {
            return $state
        }
        Start-Sleep -Milliseconds 500
    }
    return [string]$pool.State
}

# The SHA-256 of each file, as "<file name>=<hex>|..." ("-" for a missing file). Kept equal to Get-FilesState in
# drift.ps1, the read-back of iis.detectDrift, which compares the files with what the configuration step recorded.
function Get-FilesState($files) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    return (@($files | ForEach-Object {
                $path = Get-HostPath $_
                $hash = if ([System.IO.File]::Exists($path)) { [BitConverter]::ToString($sha.ComputeHash([System.IO.File]::ReadAllBytes($path))) -replace '-', '' } else { '-' }
                (Split-Path -Leaf $_) + '=' + $hash
            }) -join '|')
}

# With iis.detectDrift, records what the step left for the read-back (drift.ps1): the token the step ran with and, for
# the files given, their state. Without it ($drift null) nothing is written.
function Save-DriftRecord($drift) {
    if ($null -eq $drift) {
        return
    }
    $text = [string]$drift.token
    if ($null -ne $drift.files) {
        $text += [char]9 + (Get-FilesState $drift.files)
    }
    [System.IO.File]::WriteAllText((Get-HostPath $drift.record), $text)
}
