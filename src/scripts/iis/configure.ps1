# Step "configuration" of the IIS target: writes the settings and (re)starts the service.
# Input (secret: it holds the connection string, the client secret and the signing PFX):
#   {"installPath": "C:\\...", "appPoolName": "...", "siteName": "...", "patcherPath": "C:\\...\\ConfigPatch-<hash>.cs",
#    "appSettings": "<JSON object to merge into appsettings.json, as a string>",
#    "webConfig": {"stdoutLogEnabled": false, "stdoutLogFile": ".\\logs\\stdout",
#                  "environmentVariables": "<JSON object of names and values, as a string>" (only when there are any)},
#    "signingCertificate": null | {"path": "C:\\...\\signing-certificate.pfx", "base64": "..."},
#    "poolAccount": "IIS AppPool\\<pool>" | "<user>", "installRevision": "...", "secrets": ["..."]}
# 1. signing certificate: the PFX is written (only when its bytes differ) and readable by the pool's account only
#    (plus Administrators and SYSTEM); appsettings.json, which holds the secrets, gets the same permissions; each
#    file gets them before the secrets go in (a new PFX is created empty first);
# 2. appsettings.json and web.config are patched by ConfigPatch.cs (see there: other keys kept, BOM handled, the
#    environment variables set, and those set before that are gone removed: their names are recorded in
#    <installPath>\.identity-service-environment,
#    written only when the bytes change, through a temporary file in the upload folder, which only Administrators
#    and SYSTEM can read); with stdout logging on, the log folder is created and made writable by the pool's account;
# 3. the pool is set to start automatically and started, or recycled when it runs, so the service reads the new
#    settings (a pool IIS reports as starting or stopping is waited for first); the site is started.
# Output: {"revision": "<GUID>", ...}: a new value whenever the service was (re)started, which re-runs the readiness
# check. A run that changes no file while the pool runs (for instance after new SSH credentials) restarts nothing
# and prints the revision of the last start (kept in <installPath>\.identity-service-revision), unless "restartToken"
# (set once client re-seeding deleted rows) is new.
# With iis.detectDrift the input also holds "drift": {"record": "C:\\...", "token": "...", "files": ["C:\\...", ...]}
# (the files this step writes): once done, the step records the token and their SHA-256 there for the read-back,
# drift.ps1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'configuration'
$in = Read-StepInput $step
function Get-PoolAccount {
    $name = [string]$in.poolAccount
    if ($name.StartsWith('.\')) {
        $name = $env:COMPUTERNAME + $name.Substring(1)
    }
    return $name
}
# Sets a file's or folder's permissions with icacls: inheritance removed, Administrators and SYSTEM full control, and
# the given rights for the pool's account; or, with $inherit, adds the account's rights to what is inherited.
function Set-Access([string] $path, [string] $rights, [bool] $container, [bool] $inherit) {
    $flags = if ($container) { '(OI)(CI)' } else { '' }
    $grants = @('/grant:r', ((Get-PoolAccount) + ':' + $flags + $rights))
    if (-not $inherit) {
        $grants = @('/inheritance:r', '/grant:r', ('*S-1-5-32-544:' + $flags + 'F'), '/grant:r', ('*S-1-5-18:' + $flags + 'F')) + $grants
    }
    $ErrorActionPreference = 'Continue'
    $output = & icacls.exe $path @grants 2>&1
    $ErrorActionPreference = 'Stop'
    if ($LASTEXITCODE -ne 0) {
        throw "could not set the permissions of ${path}: $output"
    }
}
try {
    $step = 'configuration: loading the patcher'
    # Read-UploadedText (the runner's) refuses a file whose content is not what its name's hash says.
    $compile = @{ TypeDefinition = (Read-UploadedText $in.patcherPath); Language = 'CSharp' }
    if ([System.Xml.XmlDocument].Assembly.GetName().Name -eq 'System.Xml') {
        # On the .NET Framework (Windows PowerShell 5.1) System.Xml is not referenced by default; on .NET it is, and
        # naming any assembly would replace the defaults.
        $compile.ReferencedAssemblies = @([System.Xml.XmlDocument].Assembly.Location)
    }
    Add-Type @compile
    # The patcher writes its temporary files in the upload folder, which only Administrators and SYSTEM can read.
    $uploads = [System.IO.Path]::GetDirectoryName((Get-HostPath $in.patcherPath))

    # Each file that holds a secret gets its permissions before the secret goes in.
    $certificateChanged = $false
    if ($null -ne $in.signingCertificate) {
        $step = 'configuration: signing certificate'
        $path = Get-HostPath $in.signingCertificate.path
        if (-not [System.IO.File]::Exists($path)) {
            [System.IO.File]::WriteAllBytes($path, [byte[]]@())
        }
        Set-Access $in.signingCertificate.path 'R' $false $false
        if ([Convert]::ToBase64String([System.IO.File]::ReadAllBytes($path)) -ne $in.signingCertificate.base64) {
            # Writing into the existing file keeps its permissions.
            [System.IO.File]::WriteAllBytes($path, [Convert]::FromBase64String($in.signingCertificate.base64))
            $certificateChanged = $true
        }
    }

    $step = 'configuration: appsettings.json'
    $appSettingsPath = Join-Path $in.installPath 'appsettings.json'
    Set-Access $appSettingsPath 'R' $false $false
    $appSettings = [CreatioIdentityService.ConfigPatch]::PatchAppSettingsFile((Get-HostPath $appSettingsPath), $in.appSettings, [System.IO.Path]::Combine($uploads, 'appsettings.json.tmp'))

    $step = 'configuration: web.config'
    $enabled = [bool]$in.webConfig.stdoutLogEnabled
    # The variables of `environment` (JSON text, '' without any), and the names set before, which go when they are gone.
    $environment = [string]$in.webConfig.environmentVariables
    $environmentFile = Get-HostPath (Join-Path $in.installPath '.identity-service-environment')
    $previousNames = if ([System.IO.File]::Exists($environmentFile)) { [System.IO.File]::ReadAllText($environmentFile) } else { '' }
    $webConfig = [CreatioIdentityService.ConfigPatch]::PatchWebConfigFile((Get-HostPath (Join-Path $in.installPath 'web.config')), $enabled, $in.webConfig.stdoutLogFile, $environment, $previousNames, [System.IO.Path]::Combine($uploads, 'web.config.tmp'))
    $names = [CreatioIdentityService.ConfigPatch]::NamesOf($environment)
    if ($names -ne '[]') {
        [System.IO.File]::WriteAllText($environmentFile, $names)
    } elseif ([System.IO.File]::Exists($environmentFile)) {
        [System.IO.File]::Delete($environmentFile)
    }
    if ($enabled) {
        $logFile = $in.webConfig.stdoutLogFile
        if (-not (Split-Path -IsAbsolute $logFile)) {
            $logFile = Join-Path $in.installPath $logFile
        }
        $logFolder = Split-Path -Parent $logFile
        if (-not (Test-Path -LiteralPath $logFolder)) {
            New-Item -ItemType Directory -Path $logFolder | Out-Null
        }
        Set-Access $logFolder 'M' $true $true
    }

    $step = 'configuration: starting the service'
    Import-Module WebAdministration
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $pool = $manager.ApplicationPools[$in.appPoolName]
    if ($null -eq $pool) {
        throw "the application pool '$($in.appPoolName)' does not exist: run pulumi up again to re-create it"
    }
    $pool.AutoStart = $true
    $manager.CommitChanges()
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $pool = $manager.ApplicationPools[$in.appPoolName]
    $revisionFile = Get-HostPath (Join-Path $in.installPath '.identity-service-revision')
    # @() around the if: a one-element array assigned from a statement would arrive as a bare string.
    $recorded = @(if ([System.IO.File]::Exists($revisionFile)) { [System.IO.File]::ReadAllText($revisionFile).Trim() -split '\s+' } else { '' })
    $revision = $recorded[0]
    # A new restart token means client re-seeding deleted rows: the service must start again to insert its client.
    $restartToken = if ($in.restartToken) { [string]$in.restartToken } else { '' }
    $restartRequested = $restartToken -ne '' -and ($recorded.Count -lt 2 -or $recorded[1] -ne $restartToken)
    $changed = $appSettings -eq 'changed' -or $webConfig -eq 'changed' -or $certificateChanged -or $revision -eq '' -or $restartRequested
    $state = Wait-PoolState $pool
    if ($state -eq 'Started' -and -not $changed) {
        # Nothing the service reads has changed (a run for another reason, such as new SSH credentials): it keeps running.
    } elseif ($state -eq 'Started') {
        $pool.Recycle() | Out-Null
    } else {
        try {
            $pool.Start() | Out-Null
        } catch {
            # Started in the meantime (by WAS or a first request): that is what was wanted.
            if ((Wait-PoolState $pool) -ne 'Started') {
                throw
            }
        }
    }
    $site = $manager.Sites[$in.siteName]
    if ($null -ne $site -and [string]$site.State -ne 'Started') {
        $site.Start() | Out-Null
    }
    if ($changed -or $state -ne 'Started') {
        $revision = [guid]::NewGuid().ToString()
        [System.IO.File]::WriteAllText($revisionFile, ($revision + ' ' + $restartToken).Trim())
    }
    Save-DriftRecord $in.drift
    Write-StepResult ([ordered]@{
            revision = $revision
            appSettings = $appSettings
            webConfig = $webConfig
            signingCertificateChanged = $certificateChanged
        })
} catch {
    Stop-Step $step $_.Exception.Message $in.secrets
}
