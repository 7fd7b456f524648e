import{a,b}from"./chunk-VWLF6APM.js";import"./chunk-RVM63UZS.js";import"./chunk-UWGL2RWA.js";export{a as conf,b as language};
