# Step "prerequisites" of the IIS target: checks, and changes nothing, that the host can run the Identity Service.
# Input (one JSON document on stdin): {"hostingBundleVersion": "8.0", "install": "<what to install, for messages>",
#   "frameworks": [{"name": "Microsoft.AspNetCore.App", "version": "8.0"}, ...], "creatioPath": "C:\\Creatio"}
# Output: one JSON line naming what was found. Exit 1 with "prerequisites: <problem and fix>" on stderr.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
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
    Import-Module WebAdministration
    if (-not ('Microsoft.Web.Administration.ServerManager' -as [type])) {
        Add-Type -LiteralPath ($env:windir + '\System32\inetsrv\Microsoft.Web.Administration.dll')
    }
    # OpenSSH for Windows runs commands through its DefaultShell; only cmd.exe passes exit codes and stderr unchanged.
    if ($env:SSH_CONNECTION -and (Test-Path -LiteralPath 'HKLM:\SOFTWARE\OpenSSH')) {
        $shell = (Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\OpenSSH').DefaultShell
        if ($shell -and [System.IO.Path]::GetFileName($shell) -ne 'cmd.exe') {
            throw "the OpenSSH server's DefaultShell is ${shell}: remove the DefaultShell value under HKLM\SOFTWARE\OpenSSH (or set it to cmd.exe), then restart sshd"
        }
    }
    if ($in.creatioPath -and -not (Test-Path -LiteralPath $in.creatioPath -PathType Container)) {
        throw "Creatio's folder $($in.creatioPath) does not exist on this host: fix iis.creatioPath"
    }

    # The hosting bundle registers the ASP.NET Core Module V2 in IIS's global modules; its DLL lives under
    # %ProgramFiles%\IIS\Asp.Net Core Module\V2. Files without the registration mean it was installed before IIS.
    $globalModules = (New-Object Microsoft.Web.Administration.ServerManager).GetApplicationHostConfiguration().GetSection('system.webServer/globalModules').GetCollection()
    $module = @($globalModules | Where-Object { $_['name'] -eq 'AspNetCoreModuleV2' }).Count -gt 0
    $moduleFile = Test-Path -LiteralPath ($env:ProgramFiles + '\IIS\Asp.Net Core Module\V2\aspnetcorev2.dll')

    # The runtimes: the 64-bit muxer the hosting bundle installs, and the installers' registry keys.
    $listed = @()
    $muxer = $env:ProgramFiles + '\dotnet\dotnet.exe'
    if (Test-Path -LiteralPath $muxer) {
        try {
            $ErrorActionPreference = 'Continue'
            $listed = @(& $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($muxer) --list-runtimes 2>$null)
        } catch {
            $listed = @()
        } finally {
            $ErrorActionPreference = 'Stop'
        }
    }
    $found = @()
    $missing = @()
    foreach ($framework in $in.frameworks) {
        $versions = @()
        foreach ($root in @('HKLM:\SOFTWARE\dotnet', 'HKLM:\SOFTWARE\WOW6432Node\dotnet')) {
            $key = $root + '\Setup\InstalledVersions\x64\sharedfx\' + $framework.name
            if (Test-Path -LiteralPath $key) {
                $versions += (Get-Item -LiteralPath $key).GetValueNames()
            }
        }
        foreach ($line in $listed) {
            if ([string]$line -like ($framework.name + ' *')) {
                $versions += ([string]$line).Substring($framework.name.Length + 1).Split(' ')[0]
            }
        }
        $matching = @($versions | Sort-Object -Unique | Where-Object { $_.StartsWith($framework.version + '.') })
        if ($matching.Count -gt 0) {
            $found += ($framework.name + ' ' + ($matching -join '/'))
        } else {
            $missing += ($framework.name + ' ' + $framework.version)
        }
    }
    if (-not $module -and $moduleFile) {
        throw ("the ASP.NET Core Module V2 is on disk but not registered in IIS: the hosting bundle was installed before IIS. " +
            "Repair the $($in.install) (Apps & features, or run its installer with /repair), then run: net stop was /y; net start w3svc")
    }
    if (-not $module -or $missing.Count -gt 0) {
        $seen = if ($found.Count -gt 0) { $found -join ', ' } else { 'none of the required ones' }
        $absent = if ($missing.Count -gt 0) { $missing -join ', ' } else { 'none' }
        throw ("the ASP.NET Core $($in.hostingBundleVersion) hosting bundle or a runtime it needs is not installed " +
            "(ASP.NET Core Module V2 registered in IIS: $module; missing: $absent; found: $seen): " +
            "install the $($in.install), then restart IIS with: net stop was /y; net start w3svc")
    }
    Write-Output (ConvertTo-Json -Compress -InputObject @{ hostingBundleVersion = $in.hostingBundleVersion; runtimes = $found })
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
