DROP TABLE extractions;
DROP TABLE sources;
