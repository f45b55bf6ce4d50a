#!/usr/bin/env pwsh
# Thin wrapper over the dotnet commands the README documents.
#   ./build.ps1 build | test | bench [benchmark filter]
param(
    [Parameter(Position = 0)][ValidateSet('build', 'test', 'bench')][string]$Task = 'build',
    [Parameter(Position = 1, ValueFromRemainingArguments = $true)][string[]]$Rest
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
switch ($Task) {
    'build' { dotnet build RawDistill.sln -c Release }
    'test' { dotnet test RawDistill.sln -c Release }
    'bench' {
        $filter = if ($Rest) { $Rest } else { @('*') }
        dotnet run --project benchmarks/RawDistill.Benchmarks -c Release -- --filter @filter
    }
}
exit $LASTEXITCODE
