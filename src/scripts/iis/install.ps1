# Step "install" of the IIS target: extracts IdentityService.zip into the install folder.
# Input: {"archivePath": "C:\\...\\IdentityService.zip", "installPath": "C:\\...\\IdentityService",
#         "creatioPath": "C:\\Creatio", "appPoolName": "...", "creatioVersion": "8.2.1"}
# Output: {"archiveSha256": "<hash>", "extraction": "<id>"}; the extraction id is new whenever the archive was
# extracted again, which re-runs the configuration step (extracting replaces appsettings.json and web.config).
# Ownership: the package only fills a folder that is new, empty, or marked as its own by the marker file
# ".identity-service-archive" (written before the first file lands, holding the hash and extraction id once done);
# it never takes over Creatio's folder or a folder above it. The staging folder beside it ("<install folder>.staging")
# is held to the same rule with its own marker, ".identity-service-staging".
# Idempotent: the same archive is not extracted again. When files are there already, app_offline.htm is placed and
# the pool stopped first (the running service locks its DLLs), the old files are replaced (the signing certificate
# and logs are kept), and app_offline.htm is removed after. The pool stays stopped: the configuration step starts
# it once the settings are in place. Nothing is removed through a junction or symbolic link.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'install'
$in = Read-StepInput $step
$StagingMarker = '.identity-service-staging'
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
# Whether the pool has stopped and its worker process has exited. Microsoft.Web.Administration reads a pool's
# WorkerProcesses once and keeps them: each look goes through a new ServerManager.
function Test-PoolIdle([string] $name) {
    $pool = (New-Object Microsoft.Web.Administration.ServerManager).ApplicationPools[$name]
    return $null -eq $pool -or ((Wait-PoolState $pool) -eq 'Stopped' -and $pool.WorkerProcesses.Count -eq 0)
}
try {
    $installPath = $in.installPath.TrimEnd('\')
    $creatioPath = ([string]$in.creatioPath).TrimEnd('\')
    if ($creatioPath -and ($installPath -eq $creatioPath -or $creatioPath.StartsWith($installPath + '\', [System.StringComparison]::OrdinalIgnoreCase))) {
        throw "iis.installPath $installPath is Creatio's folder or a folder above it: give a folder of its own, such as $creatioPath\IdentityService"
    }
    if (-not (Test-Path -LiteralPath $in.archivePath -PathType Leaf)) {
        throw "$($in.archivePath) does not exist on this host: copy IdentityService.zip of Creatio $($in.creatioVersion) there, or fix iis.archivePath"
    }
    $hash = (Get-FileHash -LiteralPath $in.archivePath -Algorithm SHA256).Hash
    $marker = Join-Path $installPath $InstallMarker
    # @() around the if: a one-element array assigned from a statement would arrive as a bare string.
    $recorded = @(if (Test-Path -LiteralPath $marker) { [System.IO.File]::ReadAllText((Get-HostPath $marker)).Trim() -split '\s+' })
    if ($recorded.Count -ge 1 -and $recorded[0] -eq $hash) {
        $extraction = if ($recorded.Count -ge 2) { $recorded[1] } else { $hash }
        Write-StepResult ([ordered]@{ archiveSha256 = $hash; extraction = $extraction })
        exit 0
    }
    $present = (Test-Path -LiteralPath $installPath) -and @(Get-ChildItem -LiteralPath $installPath -Force).Count -gt 0
    if ($present -and $recorded.Count -eq 0) {
        throw "$installPath holds files this package did not put there: choose another iis.installPath, or empty the folder if they may go"
    }

    $step = 'install: extracting the archive'
    $staging = $installPath + '.staging'
    if (Test-Path -LiteralPath $staging) {
        $ours = (Test-Path -LiteralPath (Join-Path $staging $StagingMarker)) -and -not (Test-Link $staging)
        if (-not $ours -and @(Get-ChildItem -LiteralPath $staging -Force).Count -gt 0) {
            throw "$staging holds files this package did not put there (it extracts the archive there first): remove that folder if they may go, or choose another iis.installPath"
        }
        Remove-Tree $staging
    }
    [void][System.IO.Directory]::CreateDirectory((Get-HostPath $staging))
    [System.IO.File]::WriteAllText((Get-HostPath (Join-Path $staging $StagingMarker)), 'extracting')
    # Into a folder of its own that does not exist yet: Expand-Archive creates it (it looks for an existing one with
    # wildcards, so a path with [brackets] would not be found).
    $extracted = Join-Path $staging 'archive'
    Expand-Archive -LiteralPath $in.archivePath -DestinationPath $extracted -Force
    $source = $extracted
    if (-not (Test-Path -LiteralPath (Join-Path $extracted 'appsettings.json'))) {
        $folders = @(Get-ChildItem -LiteralPath $extracted -Directory)
        if ($folders.Count -eq 1 -and (Test-Path -LiteralPath (Join-Path $folders[0].PSPath 'appsettings.json'))) {
            $source = $folders[0].PSPath
        } else {
            throw "$($in.archivePath) has no appsettings.json at its root: is it the Identity Service's IdentityService.zip?"
        }
    }

    $step = 'install: taking the service offline'
    if (-not (Test-Path -LiteralPath $installPath)) {
        New-Item -ItemType Directory -Path $installPath | Out-Null
    }
    if ($recorded.Count -eq 0) {
        [System.IO.File]::WriteAllText((Get-HostPath $marker), 'extracting')
    }
    $offline = Join-Path $installPath 'app_offline.htm'
    if ($present) {
        [System.IO.File]::WriteAllText((Get-HostPath $offline), '<html><body>The Identity Service is being updated.</body></html>')
        Import-Module WebAdministration
        $manager = New-Object Microsoft.Web.Administration.ServerManager
        $pool = $manager.ApplicationPools[$in.appPoolName]
        if ($null -ne $pool -and (Wait-PoolState $pool) -eq 'Started') {
            $pool.Stop() | Out-Null
        }
        # The worker process keeps the DLLs open until it has exited, after the pool reports Stopped.
        for ($wait = 0; $wait -lt 120 -and -not (Test-PoolIdle $in.appPoolName); $wait++) {
            Start-Sleep -Seconds 1
        }
    }

    $step = 'install: replacing the files'
    $keep = @('app_offline.htm', 'signing-certificate.pfx', 'logs', $InstallMarker)
    Invoke-WithRetry {
        foreach ($item in @(Get-ChildItem -LiteralPath $installPath -Force)) {
            if ($keep -notcontains $item.Name) {
                Remove-Tree $item.FullName
            }
        }
    }
    $target = Get-HostPath $installPath
    foreach ($item in @(Get-ChildItem -LiteralPath $source -Force | Where-Object { $keep -notcontains $_.Name })) {
        $destination = [System.IO.Path]::Combine($target, $item.Name)
        if ($item.PSIsContainer) {
            [System.IO.Directory]::Move($item.FullName, $destination)
        } else {
            [System.IO.File]::Move($item.FullName, $destination)
        }
    }
    Remove-Tree $staging
    $extraction = [guid]::NewGuid().ToString()
    [System.IO.File]::WriteAllText((Get-HostPath $marker), "$hash $extraction")
    if (Test-Path -LiteralPath $offline) {
        Remove-Item -LiteralPath $offline -Force
    }
    Write-StepResult ([ordered]@{ archiveSha256 = $hash; extraction = $extraction })
} catch {
    Stop-Step $step $_.Exception.Message
}
