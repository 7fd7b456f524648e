import{a}from"./chunk-M3VJXV33.js";import"./chunk-BUN7ONYZ.js";import"./chunk-ROZQYAHM.js";import"./chunk-HF23AX6H.js";import"./chunk-UWGL2RWA.js";export{a as chat};
