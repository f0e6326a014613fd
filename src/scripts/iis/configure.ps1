# Step "configuration" of the IIS target: writes the settings and (re)starts the service.
# Input (secret: it holds the connection string, the client secret and the signing PFX):
#   {"installPath": "C:\\...", "appPoolName": "...", "siteName": "...", "patcherPath": "C:\\...\\ConfigPatch-<hash>.cs",
#    "appSettings": "<JSON object to merge into appsettings.json, as a string>",
#    "webConfig": {"stdoutLogEnabled": false, "stdoutLogFile": ".\\logs\\stdout"},
#    "signingCertificate": null | {"path": "C:\\...\\signing-certificate.pfx", "base64": "..."},
#    "poolAccount": "IIS AppPool\\<pool>" | "<user>", "archiveSha256": "...", "secrets": ["..."]}
# 1. signing certificate: the PFX is written (only when its bytes differ) and readable by the pool's account only
#    (plus Administrators and SYSTEM);
# 2. appsettings.json and web.config are patched by ConfigPatch.cs (see there: other keys kept, BOM handled,
#    written only when the bytes change); with stdout logging on, the log folder is created and made writable
#    by the pool's account;
# 3. the pool is set to start automatically and started, or recycled when it runs, so the service reads the new
#    settings; the site is started.
# Output: {"revision": "<new GUID>", ...}: a new value on every run, which re-runs the readiness check.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'configuration'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
function ConvertTo-Account([string] $name) {
    if ($name.StartsWith('.\')) {
        $name = $env:COMPUTERNAME + $name.Substring(1)
    }
    return New-Object System.Security.Principal.NTAccount($name)
}
function Grant-Access([string] $path, [string] $rights, [bool] $container) {
    $account = ConvertTo-Account $in.poolAccount
    $acl = Get-Acl -LiteralPath $path
    $inheritance = if ($container) { 'ContainerInherit, ObjectInherit' } else { 'None' }
    $rule = New-Object System.Security.AccessControl.FileSystemAccessRule($account, $rights, $inheritance, 'None', 'Allow')
    $acl.AddAccessRule($rule)
    Set-Acl -LiteralPath $path -AclObject $acl
}
try {
    $step = 'configuration: loading the patcher'
    $xml = [System.Xml.XmlDocument].Assembly.Location
    Add-Type -TypeDefinition ([System.IO.File]::ReadAllText($in.patcherPath)) -Language CSharp -ReferencedAssemblies $xml

    $certificateChanged = $false
    if ($null -ne $in.signingCertificate) {
        $step = 'configuration: signing certificate'
        $path = $in.signingCertificate.path
        $current = if (Test-Path -LiteralPath $path) { [Convert]::ToBase64String([System.IO.File]::ReadAllBytes($path)) } else { '' }
        if ($current -ne $in.signingCertificate.base64) {
            [System.IO.File]::WriteAllBytes($path, [Convert]::FromBase64String($in.signingCertificate.base64))
            $certificateChanged = $true
        }
        $acl = New-Object System.Security.AccessControl.FileSecurity
        $acl.SetAccessRuleProtection($true, $false)
        foreach ($administrator in @('S-1-5-32-544', 'S-1-5-18')) {
            $sid = New-Object System.Security.Principal.SecurityIdentifier($administrator)
            $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($sid, 'FullControl', 'Allow')))
        }
        $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule((ConvertTo-Account $in.poolAccount), 'Read', 'Allow')))
        Set-Acl -LiteralPath $path -AclObject $acl
    }

    $step = 'configuration: appsettings.json'
    $appSettings = [CreatioIdentityService.ConfigPatch]::PatchAppSettingsFile((Join-Path $in.installPath 'appsettings.json'), $in.appSettings)

    $step = 'configuration: web.config'
    $enabled = [bool]$in.webConfig.stdoutLogEnabled
    $webConfig = [CreatioIdentityService.ConfigPatch]::PatchWebConfigFile((Join-Path $in.installPath 'web.config'), $enabled, $in.webConfig.stdoutLogFile)
    if ($enabled) {
        $logFile = $in.webConfig.stdoutLogFile
        if (-not [System.IO.Path]::IsPathRooted($logFile)) {
            $logFile = Join-Path $in.installPath $logFile
        }
        $logFolder = Split-Path -Parent $logFile
        New-Item -ItemType Directory -Force -Path $logFolder | Out-Null
        Grant-Access $logFolder 'Modify' $true
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
    if ($pool.State -eq 'Started') {
        $pool.Recycle() | Out-Null
    } else {
        for ($wait = 0; $wait -lt 30 -and $pool.State -eq 'Stopping'; $wait++) {
            Start-Sleep -Seconds 1
        }
        $pool.Start() | Out-Null
    }
    $site = $manager.Sites[$in.siteName]
    if ($null -ne $site -and $site.State -ne 'Started') {
        $site.Start() | Out-Null
    }
    Write-Output (ConvertTo-Json -Compress -InputObject @{
            revision = [guid]::NewGuid().ToString()
            appSettings = $appSettings
            webConfig = $webConfig
            signingCertificateChanged = $certificateChanged
        })
} catch {
    $message = $_.Exception.Message
    foreach ($secret in @($in.secrets)) {
        if ($secret) {
            $message = $message.Replace($secret, '[redacted]')
        }
    }
    [Console]::Error.WriteLine("${step}: $message")
    exit 1
}
