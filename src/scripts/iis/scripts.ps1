# Step "scripts" of the IIS target: writes the package's longer step scripts (and the configuration patcher) into a
# folder on the host, so that later steps can run them by path. Files are named after their content hash and are
# never overwritten with other content; older files stay until the step is deleted, so the delete commands kept
# in the state of other steps always find theirs. The folder is readable and writable by Administrators and SYSTEM
# only (inheritance removed): later steps run these files as an administrator.
# Input: {"directory": "C:\\...\\IdentityService.deploy", "files": [{"name": "readiness-<hash>.ps1", "content": "..."}]}
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$step = 'scripts'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
try {
    # The parent as written (Split-Path would rewrite the separators on some platforms).
    $parent = $in.directory -replace '[\\/]+[^\\/]*$', ''
    if (-not (Test-Path -LiteralPath $parent -PathType Container)) {
        throw "the folder $parent does not exist on this host: fix iis.creatioPath (or iis.installPath)"
    }
    if (-not (Test-Path -LiteralPath $in.directory -PathType Container)) {
        New-Item -ItemType Directory -Path $in.directory | Out-Null
    }
    $ErrorActionPreference = 'Continue'
    $acl = & icacls.exe $in.directory /inheritance:r /grant:r '*S-1-5-32-544:(OI)(CI)F' /grant:r '*S-1-5-18:(OI)(CI)F' 2>&1
    $ErrorActionPreference = 'Stop'
    if ($LASTEXITCODE -ne 0) {
        throw "could not restrict the permissions of $($in.directory): $acl"
    }
    # Windows PowerShell 5.1 reads a script without a byte order mark in the ANSI code page: write one.
    $encoding = New-Object System.Text.UTF8Encoding $true
    $directory = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($in.directory)
    $written = @()
    foreach ($file in $in.files) {
        $path = [System.IO.Path]::Combine($directory, $file.name)
        if (-not [System.IO.File]::Exists($path) -or [System.IO.File]::ReadAllText($path) -ne $file.content) {
            [System.IO.File]::WriteAllText($path, $file.content, $encoding)
            $written += $file.name
        }
    }
    Write-Output (ConvertTo-Json -Compress -InputObject @{ directory = $in.directory; written = $written })
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
