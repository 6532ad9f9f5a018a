/// <reference types="electron-vite/node" />
// electron-vite's module types for main-process imports such as `../../resources/icon.png?asset`.
