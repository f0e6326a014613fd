# Step "install" of the IIS target: extracts IdentityService.zip into the install folder.
# Input: {"archivePath": "C:\\...\\IdentityService.zip", "installPath": "C:\\...\\IdentityService",
#         "appPoolName": "...", "creatioVersion": "8.2.1"}
# Output: {"archiveSha256": "<hash>"}; the configuration step re-runs when it changes, because extracting
# replaces appsettings.json and web.config with the archive's own.
# Idempotent: a marker file holds the hash of the archive last extracted; the same archive is not extracted again.
# When files are there already, app_offline.htm is placed and the pool stopped first (the running service locks
# its DLLs), the old files are replaced (the signing certificate and logs are kept), and app_offline.htm is
# removed after. The pool stays stopped: the configuration step starts it once the settings are in place.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'install'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
function Invoke-WithRetry([scriptblock] $action) {
    for ($attempt = 1; ; $attempt++) {
        try {
            & $action
            return
        } catch {
            if ($attempt -ge 20) {
                throw
            }
            Start-Sleep -Seconds 3
        }
    }
}
try {
    if (-not (Test-Path -LiteralPath $in.archivePath -PathType Leaf)) {
        throw "$($in.archivePath) does not exist on this host: copy IdentityService.zip of Creatio $($in.creatioVersion) there, or fix iis.archivePath"
    }
    $hash = (Get-FileHash -LiteralPath $in.archivePath -Algorithm SHA256).Hash
    $marker = Join-Path $in.installPath '.identity-service-archive'
    $result = ConvertTo-Json -Compress -InputObject @{ archiveSha256 = $hash }
    if ((Test-Path -LiteralPath $marker) -and ([System.IO.File]::ReadAllText($marker).Trim() -eq $hash)) {
        Write-Output $result
        exit 0
    }

    $step = 'install: extracting the archive'
    $staging = $in.installPath + '.staging'
    if (Test-Path -LiteralPath $staging) {
        Remove-Item -LiteralPath $staging -Recurse -Force
    }
    Expand-Archive -LiteralPath $in.archivePath -DestinationPath $staging -Force
    $source = $staging
    if (-not (Test-Path -LiteralPath (Join-Path $staging 'appsettings.json'))) {
        $folders = @(Get-ChildItem -LiteralPath $staging -Directory)
        if ($folders.Count -eq 1 -and (Test-Path -LiteralPath (Join-Path $folders[0].FullName 'appsettings.json'))) {
            $source = $folders[0].FullName
        } else {
            throw "$($in.archivePath) has no appsettings.json at its root: is it the Identity Service's IdentityService.zip?"
        }
    }

    $step = 'install: taking the service offline'
    New-Item -ItemType Directory -Force -Path $in.installPath | Out-Null
    $offline = Join-Path $in.installPath 'app_offline.htm'
    $inUse = @(Get-ChildItem -LiteralPath $in.installPath -Force).Count -gt 0
    if ($inUse) {
        [System.IO.File]::WriteAllText($offline, '<html><body>The Identity Service is being updated.</body></html>')
        Import-Module WebAdministration
        $manager = New-Object Microsoft.Web.Administration.ServerManager
        $pool = $manager.ApplicationPools[$in.appPoolName]
        if ($null -ne $pool -and $pool.State -ne 'Stopped') {
            $pool.Stop() | Out-Null
            for ($wait = 0; $wait -lt 60 -and $pool.State -ne 'Stopped'; $wait++) {
                Start-Sleep -Seconds 1
            }
        }
    }

    $step = 'install: replacing the files'
    $keep = @('app_offline.htm', 'signing-certificate.pfx', 'logs', '.identity-service-archive')
    Invoke-WithRetry {
        Get-ChildItem -LiteralPath $in.installPath -Force | Where-Object { $keep -notcontains $_.Name } | Remove-Item -Recurse -Force
    }
    Get-ChildItem -LiteralPath $source -Force | Where-Object { $keep -notcontains $_.Name } | Move-Item -Destination $in.installPath -Force
    Remove-Item -LiteralPath $staging -Recurse -Force
    [System.IO.File]::WriteAllText($marker, $hash)
    if (Test-Path -LiteralPath $offline) {
        Remove-Item -LiteralPath $offline -Force
    }
    Write-Output $result
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
