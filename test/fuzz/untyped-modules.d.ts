// markdown-it and linkify-it ship no types; the tests use a handful of calls.
declare module 'markdown-it';
declare module 'linkify-it';
