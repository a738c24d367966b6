package extract

// GarbledReason exports the garbled-text heuristic to the external tests,
// which need internal/corpustest (an importer of this package).
var GarbledReason = garbledReason

// Garbled exports garbled.
var Garbled = garbled
