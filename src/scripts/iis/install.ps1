# Step "install" of the IIS target: extracts IdentityService.zip into the install folder.
# Input: {"archivePath": "C:\\...\\IdentityService.zip", "installPath": "C:\\...\\IdentityService",
#         "creatioPath": "C:\\Creatio", "appPoolName": "...", "creatioVersion": "8.2.1"}
# Output: {"archiveSha256": "<hash>", "extraction": "<id>"}; the extraction id is new whenever the archive was
# extracted again, which re-runs the configuration step (extracting replaces appsettings.json and web.config).
# Ownership: the package only fills a folder that is new, empty, or marked as its own by the marker file
# ".identity-service-archive" (written before the first file lands, holding the hash and extraction id once done);
# it never takes over Creatio's folder or a folder above it.
# Idempotent: the same archive is not extracted again. When files are there already, app_offline.htm is placed and
# the pool stopped first (the running service locks its DLLs), the old files are replaced (the signing certificate
# and logs are kept), and app_offline.htm is removed after. The pool stays stopped: the configuration step starts
# it once the settings are in place.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$step = 'install'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
function Get-HostPath([string] $path) {
    return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path)
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
# Waits while IIS reports a pool starting or stopping, and returns the state it settles in.
function Wait-PoolState($pool) {
    for ($wait = 0; $wait -lt 120; $wait++) {
        $state = [string]$pool.State
        if ($state -eq 'Started' -or $state -eq 'Stopped') {
            return $state
        }
        Start-Sleep -Milliseconds 500
    }
    return [string]$pool.State
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
    $marker = Join-Path $installPath '.identity-service-archive'
    # @() around the if: a one-element array assigned from a statement would arrive as a bare string.
    $recorded = @(if (Test-Path -LiteralPath $marker) { [System.IO.File]::ReadAllText((Get-HostPath $marker)).Trim() -split '\s+' })
    if ($recorded.Count -ge 1 -and $recorded[0] -eq $hash) {
        $extraction = if ($recorded.Count -ge 2) { $recorded[1] } else { $hash }
        Write-Output (ConvertTo-Json -Compress -InputObject @{ archiveSha256 = $hash; extraction = $extraction })
        exit 0
    }
    $present = (Test-Path -LiteralPath $installPath) -and @(Get-ChildItem -LiteralPath $installPath -Force).Count -gt 0
    if ($present -and $recorded.Count -eq 0) {
        throw "$installPath holds files this package did not put there: choose another iis.installPath, or empty the folder if they may go"
    }

    $step = 'install: extracting the archive'
    $staging = $installPath + '.staging'
    if (Test-Path -LiteralPath $staging) {
        Remove-Item -LiteralPath $staging -Recurse -Force
    }
    Expand-Archive -LiteralPath $in.archivePath -DestinationPath $staging -Force
    $source = $staging
    if (-not (Test-Path -LiteralPath (Join-Path $staging 'appsettings.json'))) {
        $folders = @(Get-ChildItem -LiteralPath $staging -Directory)
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
        if ($null -ne $pool) {
            # The worker process keeps the DLLs open until it has exited, after the pool reports Stopped.
            for ($wait = 0; $wait -lt 120 -and ((Wait-PoolState $pool) -ne 'Stopped' -or $pool.WorkerProcesses.Count -gt 0); $wait++) {
                Start-Sleep -Seconds 1
            }
        }
    }

    $step = 'install: replacing the files'
    $keep = @('app_offline.htm', 'signing-certificate.pfx', 'logs', '.identity-service-archive')
    Invoke-WithRetry {
        Get-ChildItem -LiteralPath $installPath -Force | Where-Object { $keep -notcontains $_.Name } | Remove-Item -Recurse -Force
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
    Remove-Item -LiteralPath $staging -Recurse -Force
    $extraction = [guid]::NewGuid().ToString()
    [System.IO.File]::WriteAllText((Get-HostPath $marker), "$hash $extraction")
    if (Test-Path -LiteralPath $offline) {
        Remove-Item -LiteralPath $offline -Force
    }
    Write-Output (ConvertTo-Json -Compress -InputObject @{ archiveSha256 = $hash; extraction = $extraction })
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
