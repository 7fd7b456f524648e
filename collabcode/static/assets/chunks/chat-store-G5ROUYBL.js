import{a}from"./chunk-HNRXVOQD.js";import"./chunk-T23TMONG.js";import"./chunk-MUNEK6LZ.js";import"./chunk-QE653OXE.js";import"./chunk-UWGL2RWA.js";export{a as chat};
