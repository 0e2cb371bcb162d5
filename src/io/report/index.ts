// Report folder writers and reader (design §6). See write.ts for the folder, read.ts for parsing.
export { renderReportFiles, writeReportFolder, type ReportFiles, type WriteReportOptions } from './write';
export { parseReport } from './read';
export { serializeReport, REPORT_SCHEMA } from './json';
export { renderFigures, type Figure } from './figures';
export { renderMarkdown } from './markdown';
export { renderHtml } from './html';
