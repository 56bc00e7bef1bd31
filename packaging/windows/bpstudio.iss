; Inno Setup script for Backprop Studio on Windows, over the same PyInstaller spec.
; Build on Windows (Python 3.11, Inno Setup 6):
;   py -m venv .venv && .venv\Scripts\pip install -e ".[dev]"
;   .venv\Scripts\python -m PyInstaller --noconfirm packaging\bpstudio.spec
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DVersion=0.1.0 packaging\windows\bpstudio.iss
; The installer lands in dist\BackpropStudio-<version>-setup.exe.

#ifndef Version
  #define Version "0.1.0"
#endif

[Setup]
AppId={{6B1E5C1E-3A0C-4C52-9C8E-2B7F4C1D5A10}
AppName=Backprop Studio
AppVersion={#Version}
AppPublisher=Backprop Studio developers
DefaultDirName={autopf}\Backprop Studio
DefaultGroupName=Backprop Studio
OutputDir=..\..\dist
OutputBaseFilename=BackpropStudio-{#Version}-setup
SetupIconFile=..\..\resources\icons\bpstudio.ico
UninstallDisplayIcon={app}\bpstudio.exe
Compression=lzma2/max
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
PrivilegesRequiredOverridesAllowed=dialog

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Files]
Source: "..\..\dist\bpstudio\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\Backprop Studio"; Filename: "{app}\bpstudio.exe"
Name: "{group}\Uninstall Backprop Studio"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Backprop Studio"; Filename: "{app}\bpstudio.exe"; Tasks: desktopicon

[Registry]
; Double-clicking a .bpstudio project opens it in the studio.
Root: HKA; Subkey: "Software\Classes\.bpstudio"; ValueType: string; ValueData: "BackpropStudio.Project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\BackpropStudio.Project"; ValueType: string; ValueData: "Backprop Studio project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\BackpropStudio.Project\DefaultIcon"; ValueType: string; ValueData: "{app}\bpstudio.exe,0"
Root: HKA; Subkey: "Software\Classes\BackpropStudio.Project\shell\open\command"; ValueType: string; ValueData: """{app}\bpstudio.exe"" ""%1"""

[Run]
Filename: "{app}\bpstudio.exe"; Description: "Open Backprop Studio"; Flags: nowait postinstall skipifsilent
