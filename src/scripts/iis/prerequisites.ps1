# Step "prerequisites" of the IIS target: checks, and changes nothing, that the host can run the Identity Service.
# Input (one JSON document on stdin): {"hostingBundleVersion": "8.0", "install": "<what to install, for messages>",
#   "frameworks": [{"name": "Microsoft.AspNetCore.App", "version": "8.0"}, ...]}
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
    # The hosting bundle installs the ASP.NET Core Module V2 into IIS; the shared frameworks are the runtimes.
    $module = Test-Path -LiteralPath (Join-Path $env:windir 'System32\inetsrv\aspnetcorev2.dll')
    $dotnet = Get-Command dotnet.exe -ErrorAction SilentlyContinue
    $listed = if ($null -ne $dotnet) { @(& $dotnet.Source --list-runtimes 2>$null) } else { @() }
    $found = @()
    $missing = @()
    foreach ($framework in $in.frameworks) {
        $versions = @()
        foreach ($root in @('HKLM:\SOFTWARE\dotnet', 'HKLM:\SOFTWARE\WOW6432Node\dotnet')) {
            $key = Join-Path $root ('Setup\InstalledVersions\x64\sharedfx\' + $framework.name)
            if (Test-Path -LiteralPath $key) {
                $versions += (Get-Item -LiteralPath $key).GetValueNames()
            }
        }
        foreach ($line in $listed) {
            if ($line.StartsWith($framework.name + ' ')) {
                $versions += ($line.Substring($framework.name.Length + 1) -split ' ')[0]
            }
        }
        $matching = @($versions | Sort-Object -Unique | Where-Object { $_.StartsWith($framework.version + '.') })
        if ($matching.Count -gt 0) {
            $found += ($framework.name + ' ' + ($matching -join '/'))
        } else {
            $missing += ($framework.name + ' ' + $framework.version)
        }
    }
    if (-not $module -or $missing.Count -gt 0) {
        $seen = if ($found.Count -gt 0) { $found -join ', ' } else { 'none of the required ones' }
        $absent = if ($missing.Count -gt 0) { $missing -join ', ' } else { 'none' }
        throw ("the ASP.NET Core $($in.hostingBundleVersion) hosting bundle or a runtime it needs is not installed " +
            "(ASP.NET Core Module V2 present: $module; missing: $absent; found: $seen): " +
            "install the $($in.install), then restart IIS (iisreset)")
    }
    Write-Output (ConvertTo-Json -Compress -InputObject @{ hostingBundleVersion = $in.hostingBundleVersion; runtimes = $found })
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
