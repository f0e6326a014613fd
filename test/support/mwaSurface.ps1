# Reflects over the compiled stand-in Microsoft.Web.Administration and prints its public surface as JSON: every public
# type of the namespace with its base, modifiers, interfaces, public constructors, and the public properties and
# methods it declares itself (parameter types by their short names), and each enum's values.
$ErrorActionPreference = 'Stop'
$assembly = [System.Reflection.Assembly]::LoadFrom('__ASSEMBLY__')
function Get-ShortName([type] $Type) {
    if ($Type.IsGenericParameter) { return $Type.Name }
    if ($Type.IsGenericType) {
        return $Type.Name.Split('`')[0] + '<' + ((@($Type.GetGenericArguments()) | ForEach-Object { Get-ShortName $_ }) -join ', ') + '>'
    }
    if ($Type.Namespace -eq 'Microsoft.Web.Administration' -or $Type.IsArray -or $Type.Namespace -like 'System*') {
        if ($Type.FullName -eq 'System.Object') { return 'System.Object' }
        return $Type.Name
    }
    return $Type.FullName
}
$declared = [System.Reflection.BindingFlags]'Public, Instance, Static, DeclaredOnly'
$types = foreach ($type in $assembly.GetExportedTypes() | Where-Object Namespace -eq 'Microsoft.Web.Administration' | Sort-Object Name) {
    $baseInterfaces = if ($type.BaseType) { @($type.BaseType.GetInterfaces()) } else { @() }
    [ordered]@{
        name = $type.Name.Split('`')[0]
        kind = $(if ($type.IsEnum) { 'enum' } else { 'class' })
        base = $(if ($type.IsEnum) { $null } else { Get-ShortName $type.BaseType })
        sealed = $type.IsSealed
        abstract = $type.IsAbstract
        interfaces = @($type.GetInterfaces() | Where-Object { $baseInterfaces -notcontains $_ } | ForEach-Object { Get-ShortName $_ })
        constructors = @($type.GetConstructors() | ForEach-Object { , @($_.GetParameters() | ForEach-Object { Get-ShortName $_.ParameterType }) })
        properties = @($type.GetProperties($declared) | ForEach-Object { [ordered]@{ name = $_.Name; parameters = @($_.GetIndexParameters() | ForEach-Object { Get-ShortName $_.ParameterType }) } })
        methods = @($type.GetMethods($declared) | Where-Object { -not $_.IsSpecialName } | ForEach-Object { [ordered]@{ name = $_.Name; parameters = @($_.GetParameters() | ForEach-Object { Get-ShortName $_.ParameterType }) } })
        values = $(if ($type.IsEnum) { $values = [ordered]@{}; foreach ($n in [enum]::GetNames($type)) { $values[$n] = [int][enum]::Parse($type, $n) }; $values } else { $null })
    }
}
[Console]::Out.Write((ConvertTo-Json -InputObject ([ordered]@{ types = @($types) }) -Depth 6 -Compress))
