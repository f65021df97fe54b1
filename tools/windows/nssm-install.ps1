# Installs dnatsd as a Windows service with NSSM (https://nssm.cc).
# Run from an elevated PowerShell in the folder holding dnatsd.exe and dnatsd.conf:
#   .\nssm-install.ps1 [-Name dnatsd] [-Nssm C:\tools\nssm.exe]
# See tools/windows/README.md.
param(
  [string]$Name = "dnatsd",
  [string]$Nssm = "nssm.exe",
  [string]$Dir = (Get-Location).Path
)
$ErrorActionPreference = "Stop"
New-Item -ItemType Directory -Force -Path "$Dir\run", "$Dir\logs" | Out-Null
# Only SYSTEM and Administrators may read run\ (pid file and the control file with its token).
icacls "$Dir\run" /inheritance:r /grant:r "SYSTEM:(OI)(CI)F" "Administrators:(OI)(CI)F" | Out-Null

& $Nssm install $Name "$Dir\dnatsd.exe"
& $Nssm set $Name AppParameters "-c `"$Dir\dnatsd.conf`" -P `"$Dir\run\dnatsd.pid`" -l `"$Dir\logs\dnatsd.log`""
& $Nssm set $Name AppDirectory $Dir
& $Nssm set $Name Description "dnatsd, a NATS server (drop-in for nats-server 2.9)"
# Stop = Ctrl+C first and give the graceful shutdown time; skip WM_CLOSE (no window).
& $Nssm set $Name AppStopMethodConsole 30000
& $Nssm set $Name AppStopMethodSkip 6
& $Nssm set $Name AppExit Default Restart
& $Nssm set $Name AppStdout "$Dir\logs\service.out"
& $Nssm set $Name AppStderr "$Dir\logs\service.err"
& $Nssm start $Name
