# Step "prerequisites" of the IIS target: checks, and changes nothing, that the host can run the Identity Service.
# Input (one JSON document on stdin): {"hostingBundleVersion": "8.0", "install": "<what to install, for messages>"}
# Output: one JSON line naming what was found. Exit 1 with "prerequisites: <problem and fix>" on stderr.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'prerequisites'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
try {
    if ($PSVersionTable.PSVersion.Major -lt 5) {
        throw "PowerShell $($PSVersionTable.PSVersion) is too old: install Windows Management Framework 5.1"
    }
    if ($null -eq (Get-Service -Name W3SVC -ErrorAction SilentlyContinue)) {
        throw 'IIS (the W3SVC service) is not installed: run Install-WindowsFeature Web-Server,Web-Scripting-Tools'
    }
    if ($null -eq (Get-Module -ListAvailable -Name WebAdministration)) {
        throw 'the WebAdministration PowerShell module is missing: run Install-WindowsFeature Web-Scripting-Tools'
    }
    # The hosting bundle installs the ASP.NET Core Module V2 into IIS and registers its ASP.NET Core runtime.
    $module = Test-Path -LiteralPath (Join-Path $env:windir 'System32\inetsrv\aspnetcorev2.dll')
    $runtimes = @()
    foreach ($key in @(
            'HKLM:\SOFTWARE\dotnet\Setup\InstalledVersions\x64\sharedfx\Microsoft.AspNetCore.App',
            'HKLM:\SOFTWARE\WOW6432Node\dotnet\Setup\InstalledVersions\x64\sharedfx\Microsoft.AspNetCore.App')) {
        if (Test-Path -LiteralPath $key) {
            $runtimes += (Get-Item -LiteralPath $key).GetValueNames()
        }
    }
    $dotnet = Get-Command dotnet.exe -ErrorAction SilentlyContinue
    if ($null -ne $dotnet) {
        foreach ($line in (& $dotnet.Source --list-runtimes 2>$null)) {
            if ($line -match '^Microsoft\.AspNetCore\.App (\S+)') {
                $runtimes += $Matches[1]
            }
        }
    }
    $runtimes = @($runtimes | Sort-Object -Unique)
    $wanted = @($runtimes | Where-Object { $_.StartsWith($in.hostingBundleVersion + '.') })
    if (-not $module -or $wanted.Count -eq 0) {
        $seen = if ($runtimes.Count -gt 0) { $runtimes -join ', ' } else { 'none' }
        throw ("the ASP.NET Core $($in.hostingBundleVersion) hosting bundle is not installed " +
            "(ASP.NET Core Module V2 present: $module; ASP.NET Core runtimes found: $seen): " +
            "install the $($in.install), then restart IIS (iisreset)")
    }
    Write-Output (ConvertTo-Json -Compress -InputObject @{ hostingBundleVersion = $in.hostingBundleVersion; aspNetCoreRuntimes = $wanted })
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
