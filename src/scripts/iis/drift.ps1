# Read-back of the IIS target's drift detection (iis.detectDrift): run on every preview and update, it changes nothing
# and prints, for each part a step manages, a token that stays what that step last ran with while the server still
# matches, and becomes new once the server was changed there (so the step's input changes and the step runs again).
# Input, plain lines, tab-separated (tabs occur in no Windows path and no IIS name):
#   site<TAB><record file><TAB><expected state><TAB><site name>
#   appPool<TAB><record file><TAB><expected state><TAB><pool name>
#   configuration<TAB><record file><TAB><TAB><file>[<TAB><file>...]
# A state is "key=value|key=value...", built the same way by the package (src/targets/iis.ts, driftExpectations) and
# here. The configuration's expected state is the one its step recorded: the SHA-256 of each file it wrote. Each step
# records "<token>[<TAB><state>]" in its record file (Save-DriftRecord in step-library.ps1) after it ran.
# Output: one line of JSON, {"site": "<token>", "appPool": "<token>", "configuration": "<token>"}. Nothing is printed
# but tokens, and the settings files are hashed, never shown: they hold secrets.
# This script travels inline as -EncodedCommand (a preview may run before the scripts step uploaded anything):
# keep its code short.
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = New-Object Text.UTF8Encoding $false
$sha = [Security.Cryptography.SHA256]::Create()
function Get-Path([string] $path) {
    return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path)
}
function Get-Hex($bytes) {
    return [BitConverter]::ToString($bytes) -replace '-', ''
}
# Kept equal to Get-FilesState in step-library.ps1, which records the configuration step's files.
function Get-FilesState($files) {
    return (@($files | ForEach-Object {
                $path = Get-Path $_
                $hash = if ([IO.File]::Exists($path)) { Get-Hex ($sha.ComputeHash([IO.File]::ReadAllBytes($path))) } else { '-' }
                (Split-Path -Leaf $_) + '=' + $hash
            }) -join '|')
}
try {
    $lines = (New-Object IO.StreamReader([Console]::OpenStandardInput(), (New-Object Text.UTF8Encoding $false))).ReadToEnd().Split([char]10) | Where-Object { $_ -ne '' }
    Import-Module WebAdministration
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $result = [ordered]@{}
    foreach ($line in $lines) {
        $fields = $line.Split([char]9)
        $part = $fields[0]
        $record = Get-Path $fields[1]
        $expected = $fields[2]
        $observed = 'missing'
        if ($part -eq 'site') {
            $site = $manager.Sites[$fields[3]]
            if ($null -ne $site) {
                $application = $site.Applications['/']
                [string[]]$bindings = @($site.Bindings | ForEach-Object {
                        $hash = if ($null -ne $_.CertificateHash) { ' ' + (Get-Hex $_.CertificateHash) } else { '' }
                        $_.Protocol + ' ' + $_.BindingInformation + $hash
                    })
                # Ordinal, as the package sorts them (Sort-Object would follow the culture).
                [Array]::Sort($bindings, [StringComparer]::Ordinal)
                $observed = 'path=' + $application.VirtualDirectories['/'].PhysicalPath + '|pool=' + $application.ApplicationPoolName + '|bindings=' + ($bindings -join ',')
            }
        } elseif ($part -eq 'appPool') {
            $pool = $manager.ApplicationPools[$fields[3]]
            if ($null -ne $pool) {
                $identity = [string]$pool.ProcessModel.IdentityType
                if ($identity -eq 'SpecificUser') {
                    $identity += ':' + $pool.ProcessModel.UserName
                }
                $observed = 'identity=' + $identity + '|runtime=' + $pool.ManagedRuntimeVersion + '|pipeline=' + $pool.ManagedPipelineMode +
                    '|32bit=' + $pool.Enable32BitAppOnWin64 + '|profile=' + $pool.ProcessModel.LoadUserProfile
            }
        } else {
            $observed = Get-FilesState ($fields | Select-Object -Skip 3)
        }
        # @() around the if: a one-element array assigned from a statement would arrive as a bare string.
        $recorded = @(if ([IO.File]::Exists($record)) { [IO.File]::ReadAllText($record).Split([char]9) } else { '' })
        if ($part -eq 'configuration') {
            # No record yet (detection just turned on): no baseline, so nothing counts as changed.
            $expected = if ($recorded.Count -gt 1) { $recorded[1] } else { $observed }
        }
        $token = $recorded[0]
        if ($observed -cne $expected) {
            # What differs, by key (never a value): "bindings", "web.config", "missing".
            $changed = @($observed.Split('|') | Where-Object { $expected.Split('|') -cnotcontains $_ } | ForEach-Object { $_.Split('=')[0] })
            $digest = Get-Hex ($sha.ComputeHash([Text.Encoding]::UTF8.GetBytes($observed + [char]9 + $token)))
            $token = 'changed: ' + ($changed -join ', ') + ' (' + $digest.Substring(0, 12).ToLower() + ')'
        }
        $result[$part] = $token
    }
    [Console]::Out.WriteLine((ConvertTo-Json -Compress -InputObject $result))
} catch {
    [Console]::Error.WriteLine('drift: ' + $_.Exception.Message)
    exit 1
}
