# Carries out the re-seed statements of src/scripts/reseed.js (its MsSqlServer dialect, built on the machine that runs
# Pulumi) on the IIS server through the .NET Framework's own System.Data.SqlClient, in one transaction, so that the
# database is reached from the server and Windows authentication signs in as the account of this session (the SSH
# user). It decides nothing itself: reseed-server.js sends one request a line and reads one answer a line.
#
# Started by the line reseed-server.js sends through cmd.exe, which reads the step library (step-library.ps1) and then
# this script (each Base64 of its UTF-8 text) as the first two lines of standard input, dot-sources the library and
# runs this script with the UTF-8 reader and writer of standard input and output. Then, every line one JSON object,
# each text Base64 of its UTF-8 bytes:
#   in:  {"connectionString": "<b64>"}                        answer {"connected": true}
#        {"query": "<b64>", "parameters": [{"name", "type", "size", "value" | "text": "<b64>"}]}
#                                                             answer {"recordset": [{column: value}], "rowsAffected": [n]}
#        {"end": "commit" | "rollback"}                        answer {"ended": "commit" | "rollback"}, then exit 0
#   any failure: {"error": {"message", "number", "class", "state", "whileConnecting"}}, the transaction rolled back
#   and exit 1. The end of standard input before "end" rolls back (closing the connection does) and exits 1.
# Column values: text as JSON strings (every character beyond ASCII as \uXXXX), numbers, true/false, null for NULL,
# dates as ISO 8601. Requests are read by the step library's .NET JSON reader and answers written here with methods
# only, never through a cmdlet: with Group Policy's module logging on, a cmdlet's parameters land in the event log
# (event 4103), and the first request holds the connection string. Messages never hold the connection string.
param([System.IO.TextReader] $reader, [System.IO.TextWriter] $writer)

$ErrorActionPreference = 'Stop'
$utf8 = New-Object System.Text.UTF8Encoding $false

# JSON text for an answer: objects, arrays, strings (every character beyond ASCII as \uXXXX), numbers, booleans, null.
function ConvertTo-AnswerJson($value) {
    if ($null -eq $value) { return 'null' }
    if ($value -is [bool]) { if ($value) { return 'true' } else { return 'false' } }
    if ($value -is [string]) {
        return '"' + [regex]::Replace($value, '[\x00-\x1f"\\\x7f-\uffff]', { param($match) '\u{0:x4}' -f [int][char]$match.Value }) + '"'
    }
    if ($value -is [int] -or $value -is [long] -or $value -is [int16] -or $value -is [byte]) {
        return ([long]$value).ToString([Globalization.CultureInfo]::InvariantCulture)
    }
    if ($value -is [double] -or $value -is [single]) {
        return ([double]$value).ToString('R', [Globalization.CultureInfo]::InvariantCulture)
    }
    if ($value -is [System.Collections.IDictionary]) {
        $members = foreach ($key in $value.Keys) { (ConvertTo-AnswerJson ([string]$key)) + ':' + (ConvertTo-AnswerJson $value[$key]) }
        return '{' + ($members -join ',') + '}'
    }
    if ($value -is [System.Collections.IEnumerable]) {
        $items = foreach ($item in $value) { ConvertTo-AnswerJson $item }
        return '[' + ($items -join ',') + ']'
    }
    return ConvertTo-AnswerJson ([string]$value)
}

function Read-Text([string] $base64) {
    if ($null -eq $base64) { return $null }
    return $utf8.GetString([Convert]::FromBase64String($base64))
}

function Write-Answer($answer) {
    $writer.WriteLine((ConvertTo-AnswerJson $answer))
    $writer.Flush()
}

# The next request as a hashtable (the step library's ConvertFrom-StepJson), or $null at the end of the input.
function Read-Request {
    $line = $reader.ReadLine()
    if ($null -eq $line) { return $null }
    return ConvertFrom-StepJson $line
}

function Write-Failure($exception, [bool] $whileConnecting) {
    $failure = [ordered]@{ message = $exception.Message; whileConnecting = $whileConnecting }
    if ($exception.GetType().FullName -eq 'System.Data.SqlClient.SqlException') {
        $failure.number = $exception.Number
        $failure.class = [int]$exception.Class
        $failure.state = [int]$exception.State
    }
    Write-Answer ([ordered]@{ error = $failure })
}

# The types reseed.js's statements bind (mssql's sql.Int, sql.NVarChar(n), and what it infers from a value).
$parameterTypes = @{
    Int      = [System.Data.SqlDbType]::Int
    BigInt   = [System.Data.SqlDbType]::BigInt
    NVarChar = [System.Data.SqlDbType]::NVarChar
    Bit      = [System.Data.SqlDbType]::Bit
    Float    = [System.Data.SqlDbType]::Float
    DateTime = [System.Data.SqlDbType]::DateTime
}

function Add-Parameter($command, $parameter) {
    $type = $parameterTypes[[string]$parameter['type']]
    if ($null -eq $type) { throw "parameter @$($parameter['name']) has the type '$($parameter['type'])', which this script does not bind" }
    $bound = $command.Parameters.Add('@' + $parameter['name'], $type)
    if ($null -ne $parameter['size']) { $bound.Size = [int]$parameter['size'] }
    if ($parameter.ContainsKey('text')) {
        $text = Read-Text $parameter['text']
        if ($type -eq [System.Data.SqlDbType]::DateTime) {
            $bound.Value = [DateTime]::Parse($text, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind).ToUniversalTime()
        } else {
            $bound.Value = $text
        }
    } elseif ($null -eq $parameter['value']) {
        $bound.Value = [DBNull]::Value
    } elseif ($type -eq [System.Data.SqlDbType]::Int) {
        $bound.Value = [int]$parameter['value']
    } else {
        $bound.Value = $parameter['value']
    }
}

function ConvertTo-JsonValue($value) {
    if ($value -is [DBNull]) { return $null }
    if ($value -is [DateTime]) { return $value.ToString('o', [Globalization.CultureInfo]::InvariantCulture) }
    if ($value -is [DateTimeOffset]) { return $value.ToString('o', [Globalization.CultureInfo]::InvariantCulture) }
    if ($value -is [Guid]) { return $value.ToString() }
    if ($value -is [byte[]]) { return [Convert]::ToBase64String($value) }
    if ($value -is [decimal]) { return [double]$value }
    return $value
}

function Invoke-Query($connection, $transaction, $request) {
    $command = $connection.CreateCommand()
    try {
        $command.Transaction = $transaction
        $command.CommandText = Read-Text $request['query']
        foreach ($parameter in @($request['parameters'])) {
            if ($null -ne $parameter) { Add-Parameter $command $parameter }
        }
        $rows = New-Object System.Collections.ArrayList
        $data = $command.ExecuteReader()
        try {
            while ($data.Read()) {
                $row = [ordered]@{}
                for ($i = 0; $i -lt $data.FieldCount; $i++) {
                    $row[$data.GetName($i)] = ConvertTo-JsonValue $data.GetValue($i)
                }
                $null = $rows.Add($row)
            }
        } finally {
            $data.Close()
        }
        # RecordsAffected is -1 for a SELECT; mssql counts the rows it returned there.
        $affected = if ($data.RecordsAffected -ge 0) { $data.RecordsAffected } else { $rows.Count }
        return [ordered]@{ recordset = @($rows.ToArray()); rowsAffected = @($affected) }
    } finally {
        $command.Dispose()
    }
}

if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
    Write-Answer ([ordered]@{ error = [ordered]@{ message = "Windows PowerShell runs in $($ExecutionContext.SessionState.LanguageMode) mode on this server (a system lockdown policy); re-seeding on the server needs FullLanguage for the SSH user"; whileConnecting = $true } })
    exit 1
}

$connection = $null
$transaction = $null
$ended = $false
try {
    $opening = Read-Request
    if ($opening -isnot [hashtable] -or -not ($opening['connectionString'] -is [string])) {
        Write-Answer ([ordered]@{ error = [ordered]@{ message = 'the first request must hold "connectionString"'; whileConnecting = $true } })
        exit 1
    }
    try {
        # The .NET Framework's SqlClient, as machine.config registers it (the factory of System.Data.dll).
        $factory = [System.Data.Common.DbProviderFactories]::GetFactory('System.Data.SqlClient')
        $connection = $factory.CreateConnection()
        $connection.ConnectionString = Read-Text $opening['connectionString']
        $connection.Open()
        $transaction = $connection.BeginTransaction()
    } catch {
        Write-Failure $_.Exception.GetBaseException() $true
        exit 1
    }
    Write-Answer ([ordered]@{ connected = $true })
    while (-not $ended) {
        $request = Read-Request
        if ($null -eq $request) { break }
        if ($request.ContainsKey('end')) {
            if ($request['end'] -eq 'commit') { $transaction.Commit() } else { $transaction.Rollback() }
            $ended = $true
            Write-Answer ([ordered]@{ ended = [string]$request['end'] })
        } else {
            try {
                Write-Answer (Invoke-Query $connection $transaction $request)
            } catch {
                Write-Failure $_.Exception.GetBaseException() $false
                exit 1
            }
        }
    }
} finally {
    # Disposing an open transaction rolls it back (SqlTransaction.Dispose); closing the connection does too.
    if ($null -ne $transaction -and -not $ended) { try { $transaction.Dispose() } catch { } }
    if ($null -ne $connection) { $connection.Dispose() }
}
if ($ended) { exit 0 }
exit 1
