// Package xlsx extracts text from Office Open XML workbooks (.xlsx, .xlsm,
// .xltx, .xltm), with github.com/xuri/excelize/v2 formatting the values.
//
// Register it like any parser:
//
//	reg := extract.NewRegistry()
//	reg.MustRegister("xlsx", xlsx.New())
//
// Each worksheet is one page, in workbook order: the sheet's name on the
// first line (it is also the page's level-1 heading), then one line per
// row that holds a value, its cells separated by tabs. Cells keep their
// columns (an empty cell between two values is an empty field), trailing
// empty cells and empty rows are left out, and tabs and line breaks inside
// a cell become spaces. Values are shown as the workbook displays them:
// number formats, percentages, currencies, booleans (TRUE, FALSE) and
// error values as Excel writes them, formulas as their cached results
// (never the formula text; a formula never calculated gives nothing),
// shared and inline strings as their text without phonetic runs. Dates
// with a custom format keep it; Excel's built-in short date, whose look
// depends on the reader's locale, comes out as ISO 8601 ("2024-01-15";
// with its time, "2024-01-15 09:30"), the same in every locale. Both date
// systems (1900 and 1904) are honoured. Merged cells give their value
// once, in their first cell.
//
// Hidden and very hidden sheets are left out by default: they hold the
// workbook's machinery (lookup lists, helper calculations, data a macro
// hides), not what a reader sees; [Options].HiddenSheets keeps them. Hidden
// rows and columns are kept: filters hide rows whose data are still the
// sheet's. Chart sheets, dialog and macro sheets have no cells and give no
// page. Comments, charts, pictures and embedded objects are left out.
// Metadata comes from docProps/core.xml: title, creator (Author),
// language, created and modified; PageCount is the number of sheets that
// would be extracted.
//
// Hostile input: the package is opened through internal/safezip (entry
// count, declared sizes, ratios and overlaps checked before anything is
// inflated, every read capped), and excelize never sees it. The parser
// reads the workbook, shared strings, styles and worksheets itself,
// streaming them with encoding/xml (no DTD entities are expanded nor
// fetched; nesting deeper than 10 000 elements is refused), and hands
// excelize a package of its own making: a workbook naming the kept sheets,
// the shared strings as plain text, each worksheet reduced to the cells
// that hold a value (style, type and value only, rows numbered anew), and
// styles reduced to the number formats and each cell format's number
// format (at most 1 000 formats of at most 1 024 characters and 65 536
// cell formats, from a styles part of at most 8 MiB; otherwise values come
// unformatted). A date format without a locale gets English ([$-409],
// excelize's own fallback), which spares excelize a search of its language
// table for every date. Excelize thus never formats an empty cell, never
// walks empty rows, never writes a temporary file (its UnzipSizeLimit and
// UnzipXMLSizeLimit are set so that every part stays in memory), and a
// panic inside it is reported as [extract.ErrMalformed]. Work is bounded:
// at most 524 288 non-empty cells are read (excelize formats some tens of
// thousands of cells a second), and the cell text excelize will build, a
// shared string counted each time a cell refers to it, is at most four
// times [extract.Limits].MaxChars plus 64 Mi; past either the text is cut
// with a "truncated" warning. A workbook of more than 2 097 152 shared
// strings gives [extract.ErrTooLarge]. The text stops at MaxChars, and at
// most [extract.Limits].MaxPages sheets are read. An encrypted
// (password-protected) package, an OLE compound file, gives
// [extract.ErrEncrypted]; a legacy binary .xls gives
// [extract.ErrMalformed], as does a package without a workbook part.
package xlsx
