# Step "prerequisites" of the IIS target: checks, and changes nothing, that the host can run the Identity Service and
# that what the other steps assume of Windows holds on this server. Every problem is reported at once, each with its
# fix.
# Input (one JSON document on stdin, secret: it holds the signing PFX):
#   {"hostingBundleVersion": "8.0", "install": "<what to install, for messages>",
#    "frameworks": [{"name": "Microsoft.AspNetCore.App", "version": "8.0"}, ...], "creatioPath": "C:\\Creatio",
#    "minimumWindowsBuild": 14393, "minimumIisVersion": 10,
#    "iisApi": {"<class>": {"properties": [...], "methods": [...], "enumValues": [...]}, ...},
#    "encodingProbe": "<text beyond ASCII>", "encodingProbeCodes": [<its UTF-16 code units>],
#    "signingCertificate": null | {"base64": "<the PFX the service will load>"}}
# Checks: Windows Server's build and IIS's version; Windows PowerShell's version, language mode and execution policy
# (Restricted keeps modules from loading); IIS (W3SVC) and the WebAdministration module; every
# Microsoft.Web.Administration member and enum value the steps use (iisApi: a member this server's IIS lacks would
# fail a later step); that text beyond ASCII arrives on standard input intact,
# leaves standard output as ASCII JSON that reads back the same, and that standard error is UTF-8; that the signing
# PFX imports into an X509Certificate2 with its private key, as the service loads it (Windows Server 2016 cannot
# import AES-encrypted PFX files); OpenSSH's default shell; Creatio's folder; the ASP.NET Core Module V2 registered
# in IIS and the runtimes of the version's hosting bundle.
# Output: one line of ASCII JSON naming what was found. Exit 1 with "prerequisites: ..." on stderr, one problem a line.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'prerequisites'
$in = Read-StepInput $step
$problems = New-Object System.Collections.ArrayList
# Records a problem and its fix; the checks go on, so that one run names them all.
function Add-Problem([string] $problem) {
    [void]$problems.Add($problem)
}
# A registry value, or $null when the key or value is missing.
function Get-RegistryValue([string] $key, [string] $name) {
    if (-not (Test-Path -LiteralPath $key)) {
        return $null
    }
    return (Get-ItemProperty -LiteralPath $key).$name
}
$found = [ordered]@{}
try {
    # Windows Server and IIS.
    $windows = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $build = [int](Get-RegistryValue $windows 'CurrentBuild')
    $found.windows = "$(Get-RegistryValue $windows 'ProductName') (build $build)"
    if ($build -lt [int]$in.minimumWindowsBuild) {
        Add-Problem "this is $($found.windows); the IIS target supports Windows Server 2016 (build 14393) and later: deploy on a newer server"
    }
    $found.powerShell = [string]$PSVersionTable.PSVersion
    if ($PSVersionTable.PSVersion.Major -lt 5 -or ($PSVersionTable.PSVersion.Major -eq 5 -and $PSVersionTable.PSVersion.Minor -lt 1)) {
        Add-Problem "Windows PowerShell $($PSVersionTable.PSVersion) is too old: install Windows Management Framework 5.1"
    }
    # The runner refuses any other mode before a step starts; reported here with the rest of what was found.
    $found.languageMode = [string]$ExecutionContext.SessionState.LanguageMode
    # The effective policy: Group Policy's overrides -ExecutionPolicy Bypass. The steps are script blocks and run
    # anyway, but Restricted keeps the modules' .psm1 and .ps1xml files from loading.
    $found.executionPolicy = [string](Get-ExecutionPolicy)
    $modulesLoad = $found.executionPolicy -ne 'Restricted'
    if (-not $modulesLoad) {
        Add-Problem ("the execution policy is Restricted (Group Policy: Turn on Script Execution), so Windows PowerShell loads no module the steps use " +
            '(Expand-Archive, WebAdministration): allow at least RemoteSigned for the account the steps run as')
    }

    $iis = $null -ne (Get-Service -Name W3SVC -ErrorAction SilentlyContinue)
    $webAdministration = $null -ne (Get-Module -ListAvailable -Name WebAdministration)
    if (-not $iis) {
        Add-Problem 'IIS (the W3SVC service) is not installed: run Install-WindowsFeature Web-Server,Web-Scripting-Tools'
    } else {
        $iisVersion = [int](Get-RegistryValue 'HKLM:\SOFTWARE\Microsoft\InetStp' 'MajorVersion')
        $found.iis = "$iisVersion.$([int](Get-RegistryValue 'HKLM:\SOFTWARE\Microsoft\InetStp' 'MinorVersion'))"
        if ($iisVersion -lt [int]$in.minimumIisVersion) {
            Add-Problem "IIS $($found.iis) is too old: the IIS target needs IIS $($in.minimumIisVersion) (Windows Server 2016 and later)"
        }
    }
    if (-not $webAdministration) {
        Add-Problem 'the WebAdministration PowerShell module is missing: run Install-WindowsFeature Web-Scripting-Tools'
    }

    # The IIS management API as the steps use it.
    $module = $false
    if ($iis -and $webAdministration -and $modulesLoad) {
        Import-Module WebAdministration
        if (-not ('Microsoft.Web.Administration.ServerManager' -as [type])) {
            Add-Type -LiteralPath ($env:windir + '\System32\inetsrv\Microsoft.Web.Administration.dll')
        }
        $binding = [System.Reflection.BindingFlags]'Public, Instance, Static, FlattenHierarchy'
        $missing = New-Object System.Collections.ArrayList
        foreach ($class in @($in.iisApi.Keys | Sort-Object)) {
            $type = "Microsoft.Web.Administration.$class" -as [type]
            if ($null -eq $type) {
                [void]$missing.Add("the class $class")
                continue
            }
            # By index: a hashtable's own properties (Keys, Values, Count) would win over keys read with a dot.
            $wanted = $in.iisApi[$class]
            foreach ($name in $wanted['properties']) {
                if (@($type.GetMember($name, [System.Reflection.MemberTypes]::Property, $binding)).Count -eq 0) {
                    [void]$missing.Add("$class.$name (a property)")
                }
            }
            foreach ($name in $wanted['methods']) {
                if (@($type.GetMember($name, [System.Reflection.MemberTypes]::Method, $binding)).Count -eq 0) {
                    [void]$missing.Add("$class.$name() (a method)")
                }
            }
            foreach ($name in $wanted['enumValues']) {
                if (-not $type.IsEnum -or [Enum]::GetNames($type) -notcontains $name) {
                    [void]$missing.Add("$class.$name (an enum value)")
                }
            }
        }
        if ($missing.Count -gt 0) {
            Add-Problem ("the IIS management API on this server (Microsoft.Web.Administration) lacks what the steps use: $($missing -join ', '); " +
                'the IIS target needs IIS 10 (Windows Server 2016 and later)')
        }

        # The hosting bundle registers the ASP.NET Core Module V2 in IIS's global modules; its DLL lives under
        # %ProgramFiles%\IIS\Asp.Net Core Module\V2. Files without the registration mean it was installed before IIS.
        $globalModules = (New-Object Microsoft.Web.Administration.ServerManager).GetApplicationHostConfiguration().GetSection('system.webServer/globalModules').GetCollection()
        foreach ($entry in $globalModules) {
            if ($entry['name'] -eq 'AspNetCoreModuleV2') {
                $module = $true
            }
        }
    }
    $moduleDll = $env:ProgramFiles + '\IIS\Asp.Net Core Module\V2\aspnetcorev2.dll'
    $moduleFile = Test-Path -LiteralPath $moduleDll
    if ($moduleFile) {
        $found.aspNetCoreModule = [System.Diagnostics.FileVersionInfo]::GetVersionInfo((Get-HostPath $moduleDll)).FileVersion
    }

    # Text beyond ASCII: stdin decoded as UTF-8, stdout written as ASCII JSON that reads back the same, stderr UTF-8.
    $received = @(foreach ($character in ([string]$in.encodingProbe).ToCharArray()) { [int]$character }) -join ','
    if ($received -ne (@($in.encodingProbeCodes) -join ',')) {
        Add-Problem "text beyond ASCII arrives changed on standard input (UTF-16 code units $received instead of $(@($in.encodingProbeCodes) -join ',')): the SSH server or the shell recodes it; use the OpenSSH server that ships with Windows, with cmd.exe as its shell"
    }
    $json = ConvertTo-AsciiJson ([ordered]@{ probe = [string]$in.encodingProbe })
    if ($json -match '[^\x00-\x7f]' -or (ConvertFrom-StepJson $json).probe -cne [string]$in.encodingProbe) {
        Add-Problem "this Windows PowerShell writes JSON that does not read back the same ($json): report it with the output of `$PSVersionTable"
    }
    $errorEncoding = [Console]::Error.Encoding
    if ($errorEncoding.CodePage -ne 65001) {
        Add-Problem "standard error is written in code page $($errorEncoding.CodePage), not UTF-8, so messages beyond ASCII would arrive garbled: check that nothing on this server replaces the console's error writer (a PowerShell profile is not loaded: the steps run with -NoProfile)"
    }

    # The signing certificate, loaded as the service loads it. New-Object gets the file's path, never its bytes:
    # with module logging on, New-Object's arguments are written to the event log.
    if ($null -ne $in.signingCertificate) {
        $probe = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), [System.IO.Path]::GetRandomFileName())
        [System.IO.File]::WriteAllBytes($probe, [Convert]::FromBase64String($in.signingCertificate.base64))
        $certificate = $null
        try {
            $certificate = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2($probe, '', [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::DefaultKeySet)
            if (-not $certificate.HasPrivateKey) {
                Add-Problem 'the signing certificate imports without its private key: give a PFX with the private key (signingCertificate.path)'
            } else {
                $found.signingCertificate = $certificate.Thumbprint
            }
        } catch {
            $reason = $_.Exception.Message
            for ($inner = $_.Exception.InnerException; $null -ne $inner; $inner = $inner.InnerException) {
                $reason = $inner.Message
            }
            Add-Problem "the signing certificate does not import on this server ($reason); the service could not load it: give a PFX this Windows imports (the package encodes it with PBE-SHA1-3DES, which every supported Windows Server imports)"
        } finally {
            if ($null -ne $certificate) {
                # A key imported without PersistKeySet is deleted again with the certificate.
                $certificate.Reset()
            }
            [System.IO.File]::Delete($probe)
        }
    }

    # OpenSSH for Windows runs commands through its DefaultShell; only cmd.exe passes exit codes and stderr unchanged.
    if ($env:SSH_CONNECTION) {
        $shell = Get-RegistryValue 'HKLM:\SOFTWARE\OpenSSH' 'DefaultShell'
        if ($shell -and [System.IO.Path]::GetFileName($shell) -ne 'cmd.exe') {
            Add-Problem "the OpenSSH server's DefaultShell is ${shell}: remove the DefaultShell value under HKLM\SOFTWARE\OpenSSH (or set it to cmd.exe), then restart sshd"
        }
    }
    if ($in.creatioPath -and -not (Test-Path -LiteralPath $in.creatioPath -PathType Container)) {
        Add-Problem "Creatio's folder $($in.creatioPath) does not exist on this host: fix iis.creatioPath"
    }

    # The runtimes: the 64-bit muxer the hosting bundle installs, and the installers' registry keys.
    $listed = @()
    $muxer = $env:ProgramFiles + '\dotnet\dotnet.exe'
    if (Test-Path -LiteralPath $muxer) {
        try {
            $ErrorActionPreference = 'Continue'
            $listed = @(& (Get-HostPath $muxer) --list-runtimes 2>$null)
        } catch {
            $listed = @()
        } finally {
            $ErrorActionPreference = 'Stop'
        }
    }
    $runtimes = @()
    $absent = @()
    foreach ($framework in @($in.frameworks)) {
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
            $runtimes += ($framework.name + ' ' + ($matching -join '/'))
        } else {
            $absent += ($framework.name + ' ' + $framework.version)
        }
    }
    $found.runtimes = $runtimes
    if ($iis -and $webAdministration -and -not $module -and $moduleFile) {
        Add-Problem ("the ASP.NET Core Module V2 is on disk but not registered in IIS: the hosting bundle was installed before IIS. " +
            "Repair the $($in.install) (Apps & features, or run its installer with /repair), then run: net stop was /y; net start w3svc")
    } elseif (($iis -and $webAdministration -and -not $module) -or $absent.Count -gt 0) {
        $seen = if ($runtimes.Count -gt 0) { $runtimes -join ', ' } else { 'none of the required ones' }
        $missingRuntimes = if ($absent.Count -gt 0) { $absent -join ', ' } else { 'none' }
        Add-Problem ("the ASP.NET Core $($in.hostingBundleVersion) hosting bundle or a runtime it needs is not installed " +
            "(ASP.NET Core Module V2 registered in IIS: $module; missing: $missingRuntimes; found: $seen): " +
            "install the $($in.install), then restart IIS with: net stop was /y; net start w3svc")
    }
} catch {
    Add-Problem "could not finish the checks: $($_.Exception.Message)"
}
if ($problems.Count -eq 1) {
    Stop-Step $step $problems[0]
}
if ($problems.Count -gt 1) {
    Stop-Step $step ("$($problems.Count) problems on this server (nothing was changed):`n- " + ($problems -join "`n- "))
}
$found.hostingBundleVersion = $in.hostingBundleVersion
Write-StepResult $found
