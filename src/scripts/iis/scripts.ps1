# Step "scripts" of the IIS target: writes the package's longer step scripts (and the configuration patcher) into a
# folder on the host, so that later steps can run them by path. Files are named after their content hash and are
# never overwritten with other content; older files stay until the step is deleted, so the delete commands kept
# in the state of other steps always find theirs.
# Input: {"directory": "C:\\...\\IdentityService.deploy", "files": [{"name": "readiness-<hash>.ps1", "content": "..."}]}
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'scripts'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
try {
    New-Item -ItemType Directory -Force -Path $in.directory | Out-Null
    # Windows PowerShell 5.1 reads a script without a byte order mark in the ANSI code page: write one.
    $encoding = New-Object System.Text.UTF8Encoding $true
    $written = @()
    foreach ($file in $in.files) {
        $path = Join-Path $in.directory $file.name
        if (-not (Test-Path -LiteralPath $path) -or [System.IO.File]::ReadAllText($path) -ne $file.content) {
            [System.IO.File]::WriteAllText($path, $file.content, $encoding)
            $written += $file.name
        }
    }
    Write-Output (ConvertTo-Json -Compress -InputObject @{ directory = $in.directory; written = $written })
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
